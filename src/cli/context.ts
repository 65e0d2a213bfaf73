import type { Command } from 'commander';
import { ApiClient } from './api-client.ts';
import { makeOutput, type Output } from './output.ts';

export interface CliEnv {
  env: NodeJS.ProcessEnv;
  stdout: (s: string) => void;
  stderr: (s: string) => void;
}

/** Global options (`--url`, `--token`, `--json`) merged with the environment. */
export function cliContext(command: Command, io: CliEnv): { client: ApiClient; out: Output } {
  const opts = command.optsWithGlobals() as { url?: string; token?: string; json?: boolean };
  const url = opts.url ?? io.env.FAILSAFE_URL ?? 'http://127.0.0.1:8080';
  const token = opts.token ?? io.env.FAILSAFE_TOKEN;
  return { client: new ApiClient({ url, token }), out: makeOutput(Boolean(opts.json), io.stdout) };
}

export type CommandModule = (program: Command, io: CliEnv) => void;
