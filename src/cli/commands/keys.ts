// failsafe keys | audit
import type { Command } from 'commander';
import { FailsafeError } from '../../core/errors.ts';
import { enc } from '../api-client.ts';
import { cliContext, type CliEnv } from '../context.ts';
import { table } from '../output.ts';

export function registerKeyCommands(program: Command, io: CliEnv): void {
  const keys = program.command('keys').description('API keys and their roles');
  keys
    .command('list', { isDefault: true })
    .action(async (_o, cmd) => {
      const { client, out } = cliContext(cmd, io);
      const res = await client.get('/api/v1/keys');
      out.print(res, () => table(res.keys, ['id', 'name', 'role', 'prefix', 'createdAt', 'expiresAt', 'revokedAt']));
    });
  keys
    .command('create <name>')
    .requiredOption('--role <role>', 'admin, operator, viewer or client')
    .option('--expires-in-days <n>', 'expiry')
    .action(async (name: string, o: { role: string; expiresInDays?: string }, cmd) => {
      const { client, out } = cliContext(cmd, io);
      const res = await client.post('/api/v1/keys', {
        name,
        role: o.role,
        expiresInDays: o.expiresInDays === undefined ? undefined : Number(o.expiresInDays),
      });
      out.print(res, () => `created ${res.key.role} key "${res.key.name}" (${res.key.id}); secret, shown once:\n${res.secret}`);
    });
  keys
    .command('rotate <id>')
    .action(async (id: string, _o, cmd) => {
      const { client, out } = cliContext(cmd, io);
      const res = await client.post(`/api/v1/keys/${enc(id)}/rotate`);
      out.print(res, () => `rotated "${res.key.name}"; new secret, shown once:\n${res.secret}`);
    });
  keys
    .command('revoke <id>')
    .action(async (id: string, _o, cmd) => {
      const { client, out } = cliContext(cmd, io);
      const res = await client.delete(`/api/v1/keys/${enc(id)}`);
      out.print(res, () => `revoked ${id}`);
    });

  const audit = program.command('audit').description('the append-only, hash-chained audit log');
  audit
    .command('list', { isDefault: true })
    .option('--target <target>')
    .option('--limit <n>', 'how many', '50')
    .action(async (o: { target?: string; limit: string }, cmd) => {
      const { client, out } = cliContext(cmd, io);
      const q = new URLSearchParams({ limit: o.limit, ...(o.target ? { target: o.target } : {}) });
      const res = await client.get(`/api/v1/audit?${q}`);
      out.print(res, () => table(res.entries, ['seq', 'at', 'actor', 'action', 'target', 'reason']));
    });
  audit
    .command('verify')
    .description('recompute the hash chain; exits 5 when any entry was edited, deleted or reordered')
    .action(async (_o, cmd) => {
      const { client, out } = cliContext(cmd, io);
      const res = await client.get('/api/v1/audit/verify');
      out.print(res, () =>
        res.ok ? `audit chain OK: ${res.entries} entries` : `audit chain BROKEN at seq ${res.firstBadSeq}: ${res.reason}`,
      );
      if (!res.ok) throw new FailsafeError('CONFLICT', `audit chain broken at seq ${res.firstBadSeq}`, { silent: true });
    });
}
