// Adapter from the validator engines to the gateway's hook points (gateway-hooks.ts):
//   validateInput  → validators with checkpoint `input`
//   validateOutput → non-streaming: `response` validators before the answer is sent;
//                    streaming: the end of the stream, the full verdict of `stream` validators
//   validateChunk  → `stream` validators, incrementally, synchronous
// A stream's state lives under its request id from the first chunk until validateOutput ends it
// or a chunk blocks it (the gateway then stops the stream and does not call validateOutput);
// streams that never end (client gone, upstream cut) are swept after a TTL, and at most
// `maxStreams` are kept. The gateway appends every outcome's results to the trace, so the end
// of a stream returns only the results its chunks have not already returned: each validator
// appears once per request.
import type { ModelConfig } from '../../config.ts';
import { systemClock, type Clock, type ValidatorResult } from '../../core/types.ts';
import type { ChunkContext, GatewayHooks, ValidationOutcome } from '../gateway/gateway-hooks.ts';
import { createValidatorEngine, type StreamValidator, type ValidatorEngine } from './validator-engine.ts';
import type { ValidationContext } from './validators.ts';

/** Engines of the models that configure validators, by model name. */
export function buildValidatorEngines(models: readonly Pick<ModelConfig, 'name' | 'validators'>[]): Map<string, ValidatorEngine> {
  const engines = new Map<string, ValidatorEngine>();
  for (const m of models) if (m.validators?.length) engines.set(m.name, createValidatorEngine(m.validators));
  return engines;
}

export interface ValidatorHooksOptions {
  /** Engine of a model, or undefined when it has none; asked on every request so a reload applies at once. */
  engineFor(model: string): ValidatorEngine | undefined;
  /** An unfinished stream is forgotten after this long (default 10 minutes). */
  streamTtlMs?: number;
  /** Most streams tracked at once; the oldest is dropped beyond it (default 10,000). */
  maxStreams?: number;
  clock?: Clock;
}

export type ValidatorHooks = Required<Pick<GatewayHooks, 'validateInput' | 'validateOutput' | 'validateChunk'>> & {
  /** Drops a stream's state (the gateway may call it when a client disconnects). */
  forget(requestId: string): void;
  /** Streams currently tracked (for tests and metrics). */
  openStreams(): number;
};

function outcome(engine: ValidatorEngine, results: ValidatorResult[]): ValidationOutcome {
  const d = engine.decide(results);
  return d === 'pass' ? { results } : { results, action: d };
}

function validationContext(ctx: { model: string; version?: string; request: Readonly<Record<string, unknown>>; inputText: string }): ValidationContext {
  const input = ctx.request.messages ?? ctx.request.instances ?? ctx.inputText;
  return { model: ctx.model, version: ctx.version, input };
}

export function createValidatorHooks(o: ValidatorHooksOptions): ValidatorHooks {
  const ttl = o.streamTtlMs ?? 10 * 60_000;
  const maxStreams = o.maxStreams ?? 10_000;
  const clock = o.clock ?? systemClock;
  const streams = new Map<string, { sv: StreamValidator; engine: ValidatorEngine; at: number }>();
  let lastSweep = clock.now();

  function sweep(now: number) {
    if (now - lastSweep < 1_000) return;
    lastSweep = now;
    // Map iteration is insertion order, so the oldest come first.
    for (const [id, s] of streams) {
      if (now - s.at < ttl) break;
      streams.delete(id);
    }
  }

  function streamOf(ctx: ChunkContext, engine: ValidatorEngine) {
    let s = streams.get(ctx.requestId);
    if (!s) {
      const now = clock.now();
      sweep(now);
      s = { sv: engine.streamValidator({ model: ctx.model, version: ctx.version }), engine, at: now };
      if (streams.size >= maxStreams) streams.delete(streams.keys().next().value!);
      streams.set(ctx.requestId, s);
    }
    return s;
  }

  return {
    validateInput(ctx) {
      const engine = o.engineFor(ctx.model);
      if (!engine?.has.input) return undefined;
      if (!engine.hasAsync.input) return outcome(engine, engine.validateInputSync(ctx.inputText));
      return engine.validateInput(ctx.inputText, validationContext(ctx)).then((r) => outcome(engine, r));
    },

    validateChunk(ctx) {
      const engine = o.engineFor(ctx.model);
      if (!engine?.has.stream) return undefined;
      const fresh = streamOf(ctx, engine).sv.push(ctx.delta);
      if (fresh.length === 0) return undefined;
      const out = outcome(engine, fresh);
      if (out.action === 'block' || out.action === 'fallback') streams.delete(ctx.requestId);
      return out;
    },

    validateOutput(ctx) {
      if (ctx.stream) {
        const known = streams.get(ctx.requestId);
        streams.delete(ctx.requestId);
        const engine = known?.engine ?? o.engineFor(ctx.model);
        if (!engine?.has.stream) return undefined;
        const vctx = validationContext(ctx);
        let sv = known?.sv;
        if (!sv) {
          // No chunk went through validateChunk (e.g. an answer with no content deltas): judge the whole text.
          sv = engine.streamValidator(vctx);
          sv.push(ctx.outputText);
        }
        const reported = new Set<ValidatorResult>(sv.failures);
        return sv.end(vctx).then((r) => outcome(engine, reported.size ? r.filter((x) => !reported.has(x)) : r));
      }
      const engine = o.engineFor(ctx.model);
      if (!engine?.has.response) return undefined;
      if (!engine.hasAsync.response) return outcome(engine, engine.validateSync(ctx.outputText));
      return engine.validate(ctx.outputText, validationContext(ctx)).then((r) => outcome(engine, r));
    },

    forget(requestId) {
      streams.delete(requestId);
    },
    openStreams: () => streams.size,
  };
}
