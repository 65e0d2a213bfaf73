// npm run bench:validators — cost of the synchronous output validators on a typical answer,
// reported beside a baseline measured in the same run (a plain JSON.stringify of the answer),
// since absolute microseconds mean little on a shared machine.
import { createValidatorEngine, parseValidatorConfigs } from '../src/features/validators/validator-engine.ts';

const engine = createValidatorEngine(
  parseValidatorConfigs([
    { type: 'pii' },
    { type: 'banned_terms', terms: ['alpha', 'beta', 'gamma', 'delta'] },
    { type: 'refusal' },
    { type: 'regex', mustNotMatch: 'password\\s*[:=]' },
    { type: 'length', max: 4000 },
    { type: 'not_empty' },
  ]),
);
const text = 'About "my order": Contact support with your order number 88123 if it persists. '.repeat(8);

function timePerCall(fn: () => unknown, n: number): number {
  for (let i = 0; i < n / 10; i++) fn();
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) fn();
  return Number(process.hrtime.bigint() - t0) / 1000 / n;
}

const rounds = 5;
const validate: number[] = [];
const baseline: number[] = [];
for (let r = 0; r < rounds; r++) {
  validate.push(timePerCall(() => engine.validateSync(text), 5000));
  baseline.push(timePerCall(() => JSON.stringify({ content: text }), 5000));
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const v = median(validate);
const b = median(baseline);
console.log(`answer: ${text.length} chars, 6 validators`);
console.log(`validateSync          ${v.toFixed(2)} µs/answer (median of ${rounds})`);
console.log(`baseline JSON.stringify ${b.toFixed(2)} µs/answer`);
console.log(`ratio                 ${(v / b).toFixed(1)}× the cost of serialising the answer once`);
