// `failsafe` — every command but `serve` and `demo` talks to a running server over HTTP.
import { Command, CommanderError } from 'commander';
import { FailsafeError } from '../core/errors.ts';
import type { CliEnv, CommandModule } from './context.ts';
import { exitCodeFor, exitCodes } from './output.ts';
import { registerDeployCommands } from './commands/deploy.ts';
import { registerIncidentCommands } from './commands/incidents.ts';
import { registerKeyCommands } from './commands/keys.ts';
import { registerModelCommands } from './commands/models.ts';
import { registerRunbookCommands } from './commands/runbooks.ts';
import { registerRollbackCommands } from './commands/rollback.ts';
import { registerServeCommands } from './commands/serve.ts';
import { registerReviewCommands } from './commands/review.ts';

/** Command modules; each area adds its own. */
export const commandModules: CommandModule[] = [registerServeCommands, registerModelCommands, registerKeyCommands, registerIncidentCommands, registerRollbackCommands, registerRunbookCommands, registerDeployCommands, registerReviewCommands];

export function buildProgram(io: CliEnv): Command {
  const program = new Command('failsafe')
    .description('Failsafe: incident response and rollback for AI models in production')
    .option('--url <url>', 'server URL (env FAILSAFE_URL, default http://127.0.0.1:8080)')
    .option('--token <key>', 'API key (env FAILSAFE_TOKEN)')
    .option('--json', 'machine-readable output')
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showSuggestionAfterError(true);
  for (const register of commandModules) register(program, io);
  return program;
}

/** Runs the CLI; resolves to the exit code. Errors are one line on stderr. */
export async function runCli(argv: string[], io: CliEnv): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCodes.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return exitCodes.ok;
      return exitCodes.usage; // commander already printed its one-line message
    }
    const silent = err instanceof FailsafeError && (err.details as { silent?: boolean } | undefined)?.silent;
    if (!silent) io.stderr(`failsafe: ${oneLine(err)}\n`);
    return exitCodeFor(err);
  }
}

const oneLine = (err: unknown): string => {
  const message = err instanceof Error ? err.message : String(err);
  return message.split('\n').map((l) => l.trim()).filter(Boolean).join('; ');
};
