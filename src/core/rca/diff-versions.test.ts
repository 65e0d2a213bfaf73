import { describe, expect, it } from 'vitest';
import type { VersionSpec } from '../types.ts';
import { behaviouralChanges, describeChanges, diffVersions, lineDiff } from './diff-versions.ts';

const v2: VersionSpec = {
  version: 'v2',
  upstream: { url: 'http://127.0.0.1:9001/v1', model: 'sim-chat', provider: 'openai', headers: { authorization: 'Bearer secret-a' } },
  prompt: 'You are a support assistant.\nAnswer in JSON.\nBe brief.',
  params: { temperature: 0.2, max_tokens: 256, stop: ['\n\n'] },
  metadata: { gitSha: 'aaa111', author: 'alice' },
};

describe('diffVersions', () => {
  it('lists every behavioural and metadata change with before and after', () => {
    const v3: VersionSpec = {
      ...v2,
      version: 'v3',
      upstream: { ...v2.upstream, url: 'http://127.0.0.1:9002/v1', model: 'sim-chat-large', headers: { authorization: 'Bearer secret-b' } },
      prompt: 'You are a support assistant.\nAnswer in prose.\nBe brief.',
      params: { temperature: 0.9, max_tokens: 256, stop: ['\n\n'], top_p: 0.5 },
      metadata: { gitSha: 'bbb222', author: 'alice' },
    };
    const diff = diffVersions(v2, v3);
    expect(diff.from).toBe('v2');
    expect(diff.to).toBe('v3');
    expect(diff.identicalContent).toBe(false);
    const byField = Object.fromEntries(diff.changes.map((c) => [c.field, c]));
    expect(byField['upstream.url']).toEqual({ field: 'upstream.url', change: 'changed', before: 'http://127.0.0.1:9001/v1', after: 'http://127.0.0.1:9002/v1' });
    expect(byField['upstream.model'].after).toBe('sim-chat-large');
    expect(byField['params.temperature']).toMatchObject({ change: 'changed', before: 0.2, after: 0.9 });
    expect(byField['params.top_p']).toMatchObject({ change: 'added', after: 0.5 });
    expect(byField['params.max_tokens']).toBeUndefined();
    expect(byField['params.stop']).toBeUndefined();
    expect(byField['metadata.gitSha']).toMatchObject({ before: 'aaa111', after: 'bbb222' });
    expect(byField.prompt.change).toBe('changed');
    expect(diff.promptDiff).toEqual(['  You are a support assistant.', '- Answer in JSON.', '+ Answer in prose.', '  Be brief.']);
    // Header values never leak into a diff.
    expect(JSON.stringify(diff)).not.toContain('secret');
    expect(byField['upstream.headers.authorization'].change).toBe('changed');
    expect(behaviouralChanges(diff).some((c) => c.field.startsWith('metadata.'))).toBe(false);
    expect(describeChanges(diff, 2)).toMatch(/^upstream\.url .* → .*, upstream\.model sim-chat → sim-chat-large, \d+ more$/);
  });

  it('reports identical content when only the version id differs', () => {
    const diff = diffVersions(v2, { ...v2, version: 'v2b' });
    expect(diff.changes).toEqual([]);
    expect(diff.identicalContent).toBe(true);
    expect(diff.promptDiff).toBeUndefined();
  });

  it('reports added and removed prompts and nested params', () => {
    const a: VersionSpec = { version: 'a', upstream: { url: 'u', provider: 'p' }, params: { nested: { x: 1, y: 2 } } };
    const b: VersionSpec = { version: 'b', upstream: { url: 'u', provider: 'p' }, prompt: 'hi', params: { nested: { x: 1, y: 3 } } };
    const diff = diffVersions(a, b);
    expect(diff.changes).toEqual([
      { field: 'prompt', change: 'added', after: 'hi' },
      { field: 'params.nested.y', change: 'changed', before: 2, after: 3 },
    ]);
    expect(diffVersions(b, a).changes[0]).toEqual({ field: 'prompt', change: 'removed', before: 'hi' });
  });
});

describe('lineDiff', () => {
  it('trims long unchanged runs to one line of context', () => {
    const before = ['a', 'b', 'c', 'd', 'e', 'f'].join('\n');
    const after = ['a', 'b', 'c', 'X', 'e', 'f'].join('\n');
    expect(lineDiff(before, after)).toEqual(['…', '  c', '- d', '+ X', '  e', '…']);
  });
});
