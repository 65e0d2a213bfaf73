// Regenerates the example golden sets from the simulated model server's deterministic answers
// (examples/sim-server/sim-replies.ts), so they match what a healthy sim version says:
//   npx tsx examples/golden/make-golden.ts
// support-bot: plain-text answers unless a case asks for JSON itself (response_format json_object),
// so it assumes the version's prompt does not ask for JSON.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SIM_REFUSAL, simAnswer, simLabel } from '../sim-server/sim-replies.ts';

const here = dirname(fileURLToPath(import.meta.url));
const advice = (q: string) => simAnswer(q).slice(simAnswer(q).indexOf('": ') + 3);
const json = (q: string) => ({ messages: [{ role: 'user', content: q }], response_format: { type: 'json_object' } });

const support: Record<string, unknown>[] = [];
let n = 0;
const id = () => `sb-${String(++n).padStart(3, '0')}`;

// Plain answers must carry the right advice.
for (const q of [
  'How do I reset my password?',
  "My order hasn't arrived yet, where is it?",
  'Can I change the email on my account?',
  'How do I export my data to CSV?',
  'Where can I find my invoices?',
  'How do I add a team member to my workspace?',
  'Is there a keyboard shortcut for search?',
  'How do I cancel my subscription?',
  'Can I use the app offline?',
  'How do I enable two-factor authentication?',
  'How do I change the language of the interface?',
  'Does the free plan include API access?',
]) {
  support.push({ id: id(), input: q, match: 'contains', expected: advice(q), tags: ['how-to'] });
}
// Multi-turn: the answer is about the last user message.
for (const [first, reply, q] of [
  ['Hi there', 'Hello! How can I help?', 'How do I merge two workspaces?'],
  ['I use the mobile app', 'Got it.', 'How long does shipping to Canada take?'],
]) {
  support.push({
    id: id(),
    input: [
      { role: 'user', content: first },
      { role: 'assistant', content: reply },
      { role: 'user', content: q },
    ],
    match: 'contains',
    expected: advice(q),
    tags: ['multi-turn'],
  });
}
// Answers restate the question, then give the right advice (its first words).
const escapeRegex = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
for (const q of ['Can I schedule reports by email?', 'Where do I update my billing address?', 'How do I delete my account?']) {
  const lead = advice(q).split(' ').slice(0, 2).join(' ');
  support.push({ id: id(), input: q, match: 'regex', expected: `^About "${escapeRegex(q)}": ${escapeRegex(lead)}\\b.*\\.$`, tags: ['format'] });
}
// Sentiment labels (JSON mode).
for (const q of [
  'The app keeps crashing when I open settings, this is terrible',
  'Thanks, the new dashboard is great!',
  'I want a refund for my last invoice',
  'Love the new dark mode, thank you',
  'Payment failed twice with my card',
  'The sync is not working on my phone',
  'Your support team was excellent today',
  'I have a complaint about a late delivery',
  'Perfect, that fixed it',
  'What are your opening hours?',
]) {
  support.push({ id: id(), input: json(q), match: 'label', label: simLabel(q), tags: ['sentiment'] });
}
// Structured output (JSON mode).
const schema = {
  type: 'object',
  required: ['answer', 'label'],
  properties: { answer: { type: 'string', minLength: 10 }, label: { enum: ['positive', 'negative', 'neutral'] } },
  additionalProperties: false,
};
for (const q of ['Which browsers do you support?', 'Can I get an invoice in EUR?', 'My account was charged twice, this is the worst']) {
  support.push({ id: id(), input: json(q), match: 'json_schema', schema, tags: ['structured'] });
}
// Exact answers (JSON mode): what the healthy version says word for word.
for (const q of ['How do I contact sales?', 'The notifications are awesome, nice work']) {
  support.push({ id: id(), input: json(q), match: 'exact', expected: JSON.stringify({ answer: simAnswer(q), label: simLabel(q) }), tags: ['exact'] });
}
if (support.some((l) => l.expected === SIM_REFUSAL)) throw new Error('a golden answer must not be the refusal');

// fraud-scorer: features [amount_z, velocity_z, geo_mismatch, account_age_z, device_risk];
// the sim labels "positive" (fraud) when they sum above 0.
const fraud: Record<string, unknown>[] = [];
const tx: Array<[string, number[]]> = [
  ['small purchase, old account', [-0.4, -0.6, 0, -1.2, -0.3]],
  ['large amount, new device abroad', [2.1, 0.4, 1, 0.3, 0.9]],
  ['card testing burst', [-0.8, 3.2, 0, 0.5, 0.7]],
  ['grocery run', [-0.2, -0.1, 0, -0.9, -0.2]],
  ['subscription renewal', [-0.5, -0.8, 0, -1.5, -0.4]],
  ['gift cards at night', [1.4, 1.1, 0, 0.2, 0.6]],
  ['travel booking, known device', [1.2, -0.3, 1, -1.8, -0.6]],
  ['account takeover pattern', [0.6, 1.8, 1, -0.2, 1.4]],
  ['coffee shop', [-0.9, 0.2, 0, -1.1, -0.1]],
  ['electronics, fresh account', [1.6, 0.2, 0, 1.9, 0.5]],
  ['utility bill', [-0.3, -0.7, 0, -1.4, -0.5]],
  ['crypto exchange top-up', [2.4, 0.9, 1, 0.6, 1.1]],
  ['refund reversal', [0.3, -0.2, 0, -0.6, -0.3]],
  ['restaurant abroad, long-time customer', [0.1, -0.4, 1, -2.0, -0.2]],
  ['many small online orders', [-0.6, 2.5, 0, 0.1, 0.3]],
  ['pharmacy', [-0.7, -0.5, 0, -0.8, -0.2]],
  ['luxury watch, proxy IP', [3.1, 0.1, 1, 0.4, 1.6]],
  ['monthly rent', [0.8, -0.9, 0, -1.6, -0.4]],
  ['streaming service', [-1.0, -0.6, 0, -1.3, -0.3]],
  ['wire to new payee', [1.9, 0.7, 0, 0.2, 0.4]],
  ['fuel station', [-0.4, 0.3, 0, -0.7, 0.1]],
  ['mismatched billing country', [0.2, 0.1, 1, 0.1, 0.3]],
  ['school fees', [1.1, -0.8, 0, -1.9, -0.5]],
  ['emulator device fingerprint', [0.0, 0.4, 0, 0.3, 2.2]],
  ['bookshop', [-0.6, -0.4, 0, -1.0, -0.4]],
  ['ticket resale spree', [0.9, 1.6, 0, 0.5, 0.2]],
  ['parking meter', [-1.2, 0.1, 0, -0.5, -0.1]],
  ['hotel deposit', [0.7, -0.6, 1, -1.7, -0.3]],
];
tx.forEach(([name, f], i) => {
  const sum = f.reduce((a, b) => a + b, 0);
  if (Math.abs(sum) < 0.05) throw new Error(`ambiguous case ${name}`);
  const label = sum > 0 ? 'positive' : 'negative';
  const fid = `fs-${String(i + 1).padStart(3, '0')}`;
  // A few cases use the {"features": [...]} instance form the gateway also accepts.
  const input = i % 7 === 3 ? { features: f } : f;
  fraud.push(i % 5 === 4 ? { id: fid, input, match: 'exact', expected: label, tags: [name] } : { id: fid, input, match: 'label', label, tags: [name] });
});

const write = (file: string, lines: unknown[]) => writeFileSync(join(here, file), lines.map((l) => JSON.stringify(l)).join('\n') + '\n');
write('support-bot.jsonl', support);
write('fraud-scorer.jsonl', fraud);
console.log(`support-bot.jsonl: ${support.length} cases; fraud-scorer.jsonl: ${fraud.length} cases`);
