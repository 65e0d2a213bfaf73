// `failsafe validate <model> <version>`: the offline gate on its own. A job runs in the
// background so the CLI can draw a progress bar from GET /api/v1/validations/{id}; the result is
// audited as `version.validate` (what RCA reads) and a passing candidate becomes `validated`.
import { randomBytes } from 'node:crypto';
import { FailsafeError } from '../../core/errors.ts';
import type { Clock, EpochMs } from '../../core/types.ts';
import type { AuditLog } from '../audit/audit-service.ts';
import type { RegistryService } from '../registry/registry-service.ts';
import type { Stores } from '../stores.ts';
import type { ChangeContext } from './deployment-service.ts';
import type { DeploymentValidation } from './deployment-store.ts';
import type { CandidateValidator } from './deployment-validation.ts';

export interface ValidationJob {
  id: string;
  model: string;
  version: string;
  status: 'running' | 'passed' | 'failed';
  done: number;
  total: number;
  actor: string;
  startedAt: EpochMs;
  result?: DeploymentValidation;
  error?: string;
}

const KEEP = 100;

export class ValidationJobs {
  private readonly jobs = new Map<string, ValidationJob>();

  constructor(
    private readonly o: { stores: Stores; clock: Clock; audit: AuditLog; registry: RegistryService; validator: CandidateValidator; onError?: (err: unknown, what: string) => void },
  ) {}

  async start(model: string, versionName: string, ctx: ChangeContext): Promise<ValidationJob> {
    const m = await this.o.registry.getModel(model);
    const version = await this.o.registry.getVersion(model, versionName);
    const job: ValidationJob = { id: `val-${randomBytes(5).toString('hex')}`, model, version: versionName, status: 'running', done: 0, total: 0, actor: ctx.actor, startedAt: this.o.clock.now() };
    this.jobs.set(job.id, job);
    while (this.jobs.size > KEEP) this.jobs.delete(this.jobs.keys().next().value as string);
    void (async () => {
      const result = await this.o.validator({ model, kind: m.kind, version, onProgress: (done, total) => Object.assign(job, { done, total }) });
      await this.o.audit.append(this.o.stores, {
        actor: ctx.actor,
        action: 'version.validate',
        target: `version:${model}@${versionName}`,
        after: { versionContentHash: result.versionContentHash, passed: result.passed, kind: result.kind, passRate: result.passRate, total: result.total, summary: result.summary },
        reason: ctx.reason ?? 'failsafe validate',
        requestId: ctx.requestId,
      });
      const current = await this.o.registry.getVersion(model, versionName);
      if (result.passed && current.state === 'candidate') {
        await this.o.registry.setVersionState(model, versionName, 'validated', { actor: ctx.actor, reason: result.summary });
      }
      job.result = result;
      job.status = result.passed ? 'passed' : 'failed';
    })().catch((err) => {
      job.status = 'failed';
      job.error = (err as Error)?.message ?? String(err);
      this.o.onError?.(err, `validation job ${job.id}`);
    });
    return job;
  }

  get(id: string): ValidationJob {
    const job = this.jobs.get(id);
    if (!job) throw new FailsafeError('NOT_FOUND', `no validation with id "${id}" (validations are kept in memory, the last ${KEEP})`);
    return job;
  }
}
