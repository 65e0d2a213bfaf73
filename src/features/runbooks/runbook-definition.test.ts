import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { dueAfterMs, parseDuration, parseRunbookYaml, runbookHash } from './runbook-definition.ts';
import { builtinRunbookDir } from './runbook-service.ts';

const sopText = readFileSync(join(builtinRunbookDir, 'sop-001.yaml'), 'utf8');
const sop = () => YAML.parse(sopText) as { steps: Record<string, unknown>[] } & Record<string, unknown>;
const text = (doc: unknown) => YAML.stringify(doc);

/** The error message a bad document gets, or a failure when it loads. */
function refusal(doc: unknown, source = 'runbooks/test.yaml'): string {
  try {
    parseRunbookYaml(typeof doc === 'string' ? doc : text(doc), source);
  } catch (err) {
    expect((err as { code?: string }).code).toBe('VALIDATION_FAILED');
    return (err as Error).message;
  }
  throw new Error('expected the runbook to be refused');
}

describe('SOP-001 as shipped', () => {
  const def = parseRunbookYaml(sopText, 'runbooks/sop-001.yaml');

  it('maps the five SOP steps and their sub-items', () => {
    expect(def.id).toBe('SOP-001');
    expect([...new Set(def.steps.map((s) => s.section))]).toEqual([
      '1. Detection and classification',
      '2. Initial response and containment',
      '3. Root-cause analysis',
      '4. Rollback',
      '5. Post-incident review',
    ]);
    const byId = Object.fromEntries(def.steps.map((s) => [s.id, s]));
    expect(byId.detect).toMatchObject({ kind: 'automatic', action: 'detect' });
    expect(byId.isolate).toMatchObject({ kind: 'automatic', action: 'contain' });
    expect(byId['pause-api']).toMatchObject({ kind: 'automatic', action: 'pause', when: { tags: ['critical'] } });
    expect(byId['notify-stakeholders']).toMatchObject({ kind: 'automatic', action: 'notify' });
    expect(byId['document-issue']).toMatchObject({ kind: 'manual', evidence: ['note'] });
    expect(def.steps.filter((s) => s.section === '4. Rollback').map((s) => s.action)).toEqual(['identify', 'validate', 'rollback', 'audit']);
    expect(byId.postmortem).toMatchObject({ kind: 'automatic', action: 'postmortem' });
    expect(['review-detected-earlier', 'review-thresholds', 'review-fallbacks'].map((id) => byId[id]!.evidence)).toEqual([['yes_no'], ['yes_no'], ['yes_no']]);
    expect(byId['lessons-applied']!.evidence).toEqual(['link', 'note']);
    // The example due times of the brief, relative to detection.
    expect(byId.isolate!.due).toEqual({ SEV1: '15m', SEV2: '1h', SEV3: '4h', SEV4: '1d' });
    expect(dueAfterMs(byId.isolate!, 'SEV2')).toBe(3_600_000);
  });

  it('hashes content, not the declared version or key order', () => {
    const a = sop();
    const reordered = Object.fromEntries(Object.entries(a).reverse());
    expect(runbookHash(parseRunbookYaml(text({ ...reordered, version: 9 }), 'x'))).toBe(runbookHash(def));
    const changed = sop();
    changed.steps[1]!.title = 'Page the on-call';
    expect(runbookHash(parseRunbookYaml(text(changed), 'x'))).not.toBe(runbookHash(def));
  });
});

describe('definition errors name the source and the path', () => {
  it('unknown action', () => {
    const d = sop();
    d.steps[3]!.action = 'reboot';
    expect(refusal(d)).toMatch(/^runbooks\/test\.yaml: steps\[3\]\.action: unknown action "reboot" \(expected one of detect, notify, /);
  });

  it('unknown role and audience', () => {
    const d = sop();
    d.steps[2]!.owner = { role: 'root', audience: 'legal' };
    const msg = refusal(d);
    expect(msg).toContain('runbooks/test.yaml: steps[2].owner.role: unknown role "root" (expected one of admin, operator, viewer)');
    expect(msg).toContain('runbooks/test.yaml: steps[2].owner.audience: unknown audience "legal"');
  });

  it('duplicate step id', () => {
    const d = sop();
    d.steps[4]!.id = 'isolate';
    expect(refusal(d)).toContain('runbooks/test.yaml: steps[4].id: duplicate step id "isolate" (also steps[2])');
  });

  it('a cycle in after', () => {
    const d = sop();
    const rca = d.steps.findIndex((s) => s.id === 'rca');
    d.steps[rca]!.after = ['document-issue'];
    expect(refusal(d)).toMatch(/^runbooks\/test\.yaml: steps\[\d+\]\.after: cycle in after: (rca → document-issue → rca|document-issue → rca → document-issue)$/);
  });

  it('after naming an unknown step, or the step itself', () => {
    const d = sop();
    d.steps[1]!.after = ['detect', 'nope'];
    d.steps[2]!.after = ['isolate'];
    const msg = refusal(d);
    expect(msg).toContain('steps[1].after[1]: unknown step "nope"');
    expect(msg).toContain('steps[2].after[0]: step "isolate" cannot come after itself');
  });

  it('step kinds and their fields, evidence kinds, durations, severities', () => {
    // Shape errors first (zod), all at once.
    const shape = sop();
    shape.steps[8]!.due = { SEV1: 'soon' };
    shape.steps[9]!.due = { SEV9: '1h' };
    shape.steps[12]!.evidence = 'photo';
    const msg = refusal(shape);
    expect(msg).toContain('runbooks/test.yaml: steps[8].due.SEV1: expected a duration like 15m, 1h or 1d, got "soon"');
    expect(msg).toMatch(/steps\[9\]\.due(\.SEV9)?: .*SEV9/);
    expect(msg).toContain('runbooks/test.yaml: steps[12].evidence[0]: unknown evidence kind "photo" (expected one of note, link, yes_no)');
    // Then what only the whole document shows.
    const d = sop();
    delete d.steps[0]!.action;
    d.steps[6]!.action = 'rca';
    d.steps[7]!.evidence = 'note';
    const semantic = refusal(d);
    expect(semantic).toContain('runbooks/test.yaml: steps[0].action: an automatic step needs an action');
    expect(semantic).toContain('runbooks/test.yaml: steps[6].action: only automatic steps have an action');
    expect(semantic).toContain('runbooks/test.yaml: steps[7].evidence: only manual steps ask for evidence');
  });

  it('unknown fields, missing title, no steps', () => {
    expect(refusal({ id: 'X', title: 'x', steps: [], owner: 1 })).toMatch(/steps: a runbook needs at least one step/);
    expect(refusal({ id: 'X', steps: [{ id: 'a', title: 't', kind: 'manual', owner: { role: 'viewer', audience: 'product' }, colour: 'red' }] })).toMatch(
      /title: a title is required[\s\S]*steps\[0\]: Unrecognized key: "colour"/,
    );
  });

  it('YAML syntax errors carry the line', () => {
    expect(refusal('id: SOP-X\ntitle: [unclosed\n')).toMatch(/^runbooks\/test\.yaml: line \d+, column \d+: /);
    expect(refusal('id: a\nid: b\n')).toMatch(/^runbooks\/test\.yaml: line 2, column 1: Map keys must be unique/);
  });
});

describe('durations', () => {
  it('parses units and combinations, refuses the rest', () => {
    expect(parseDuration('15m')).toBe(900_000);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('1d')).toBe(86_400_000);
    expect(parseDuration('2w')).toBe(1_209_600_000);
    expect(parseDuration('0s')).toBe(0);
    expect(parseDuration('1 hour')).toBeUndefined();
    expect(parseDuration('')).toBeUndefined();
  });
  it('a single due applies to every severity', () => {
    const d = parseRunbookYaml(text({ id: 'X', title: 'x', steps: [{ id: 'a', title: 't', kind: 'manual', owner: { role: 'viewer', audience: 'product' }, due: '2h' }] }), 'x');
    expect(d.steps[0]!.due).toEqual({ SEV1: '2h', SEV2: '2h', SEV3: '2h', SEV4: '2h' });
    expect(d.steps[0]!.after).toEqual([]);
  });
});
