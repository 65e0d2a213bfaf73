// failsafe serve — the only command (with demo) that runs a server instead of calling one.
import type { Command } from 'commander';
import { FailsafeError } from '../../core/errors.ts';
import type { CliEnv } from '../context.ts';

export const parsePort = (value: string): number => {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new FailsafeError('BAD_REQUEST', `--port: "${value}" is not a port number`);
  return port;
};

export function registerServeCommands(program: Command, io: CliEnv): void {
  program
    .command('serve')
    .description('run the gateway and control plane')
    .option('--config <file>', 'configuration file (default failsafe.yaml when present)')
    .option('--port <n>', 'port (default 8080, env FAILSAFE_PORT)')
    .option('--host <host>', 'interface to listen on (default 127.0.0.1)')
    .action(async (o: { config?: string; port?: string; host?: string }) => {
      const { startFailsafe } = await import('../../main.ts');
      const running = await startFailsafe({
        configPath: o.config,
        port: o.port === undefined ? undefined : parsePort(o.port),
        host: o.host,
        env: io.env,
      });
      io.stderr(`failsafe: serving on ${running.url} (dashboard ${running.url}/, API ${running.url}/api/v1, OpenAI ${running.url}/v1)\n`);
      if (running.bootstrapAdminSecret) {
        io.stderr(`failsafe: created the first admin API key; it is shown only once:\n  ${running.bootstrapAdminSecret}\n`);
      }
      const stop = async (signal: string) => {
        io.stderr(`failsafe: ${signal}, shutting down\n`);
        await running.close();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop('SIGINT'));
      process.once('SIGTERM', () => void stop('SIGTERM'));
    });

  program
    .command('demo')
    .description('the whole incident loop on SQLite and simulated model servers, narrated')
    .option('--port <n>', 'port', '8080')
    .option('--host <host>', 'interface to listen on', '127.0.0.1')
    .option('--exit', 'end after the postmortem and print its path')
    .action(async (o: { port: string; host: string; exit?: boolean }) => {
      const { runDemo } = await import('../../demo/demo.ts');
      const result = await runDemo({ port: parsePort(o.port), host: o.host, exit: Boolean(o.exit), write: (line) => io.stdout(`${line}\n`) });
      if (o.exit) process.exit(0);
      const stop = async () => {
        await result.stop();
        process.exit(0);
      };
      process.once('SIGINT', () => void stop());
      process.once('SIGTERM', () => void stop());
    });
}
