// The demo's failsafe.yaml, as data: support-bot (chat) with v1, v2 (stable) and v3, and
// fraud-scorer (predict) whose accuracy is measured from late labels.
import { resolve } from 'node:path';

export const demoPrompts = [
  'How do I reset my password?',
  'My order 4417 has not arrived yet, what can I do?',
  'Can I change the delivery address after checkout?',
  'The app crashes when I open settings on Android.',
  'How do I export my invoices as PDF?',
  'Is there a student discount?',
  'I was charged twice for the same subscription.',
  'How can I delete my account and my data?',
  'What are your support hours on weekends?',
  'The verification email never arrives.',
  'Can I pay with a bank transfer?',
  'How do I add a second user to my team plan?',
];

export function demoConfig(o: { dir: string; sims: Record<'v1' | 'v2' | 'v3', { url: string }>; predictUrl: string }) {
  const golden = (name: string) => resolve('examples/golden', name);
  return {
    storage: `sqlite:${resolve(o.dir, 'failsafe.db')}`,
    server: { port: 8080 },
    models: [
      {
        name: 'support-bot',
        kind: 'chat',
        versions: [
          {
            version: 'v1',
            upstream: { url: `${o.sims.v1.url}/v1`, model: 'sim-chat' },
            prompt: 'You are a helpful support assistant.',
            metadata: { gitSha: '1a2b3c4', dataset: 'faq-2026-03', author: 'maria' },
            stable: true,
          },
          {
            version: 'v2',
            upstream: { url: `${o.sims.v2.url}/v1`, model: 'sim-chat' },
            prompt: 'You are a helpful, concise support assistant.',
            params: { temperature: 0.2 },
            metadata: { gitSha: '5d6e7f8', dataset: 'faq-2026-09', author: 'maria' },
            stable: true,
          },
          {
            version: 'v3',
            upstream: { url: `${o.sims.v3.url}/v1`, model: 'sim-chat' },
            prompt: 'You are a support assistant. Answer in as few words as possible; never ask follow-up questions.',
            params: { temperature: 0.9 },
            metadata: { gitSha: '9a0b1c2', dataset: 'faq-2026-11', author: 'sam', notes: 'hotfix prompt' },
          },
        ],
        route: { v2: 100 },
        golden: golden('support-bot.jsonl'),
        soakSeconds: 3600,
      },
      {
        name: 'fraud-scorer',
        kind: 'predict',
        versions: [
          { version: 'v1', upstream: { url: `${o.predictUrl}/v1/models/fraud:predict` }, stable: true },
        ],
        route: { v1: 100 },
        golden: golden('fraud-scorer.jsonl'),
      },
    ],
  };
}
