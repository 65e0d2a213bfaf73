// Deterministic answers of the simulated model server. Exported so golden sets and tests can
// compute the expected output of a healthy server for a given input without calling it.

export interface SimChatMessage {
  role: string;
  content?: unknown;
}

export type SimLabel = 'positive' | 'negative' | 'neutral';

const ADVICE = [
  'Start by checking the settings page, then try again.',
  'Restarting the app usually clears this up.',
  'Our documentation has a step-by-step guide for this.',
  'You can do this from your account dashboard in a few clicks.',
  'Make sure you are on the latest version first.',
  'Contact support with your order number if it persists.',
  'This typically resolves itself within 24 hours.',
  'Signing out and in again should fix it.',
];

export const SIM_REFUSAL = "I'm sorry, I can't help with that.";
export const SIM_PII_SENTENCE = 'You can reach Jane Doe at jane.doe@example.com or +1 (555) 010-4477.';

const NEGATIVE = /\b(bad|broken|hate|refund|angry|terrible|awful|not working|error|problem|complaint|worst|fail(?:ed|s|ing)?)\b/i;
const POSITIVE = /\b(good|great|love|thanks|thank you|excellent|happy|awesome|perfect|nice)\b/i;

/** FNV-1a, enough to pick a template deterministically. */
export function hashText(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** Text of a message content: a string, or the text parts of an array of parts. */
export function messageText(content: unknown): string {
  if (typeof content === 'string') return content;
  if (Array.isArray(content)) {
    let s = '';
    for (const part of content) {
      if (part && typeof part === 'object' && typeof (part as { text?: unknown }).text === 'string') {
        s += (part as { text: string }).text;
      }
    }
    return s;
  }
  return '';
}

/** Total characters of all messages, the server's measure of input size. */
export function inputChars(messages: readonly SimChatMessage[]): number {
  let n = 0;
  for (const m of messages) n += messageText(m.content).length;
  return n;
}

export function lastUserText(messages: readonly SimChatMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    if (messages[i].role === 'user') return messageText(messages[i].content);
  }
  return '';
}

/** Keyword sentiment, predictable by a human writing a golden set. */
export function simLabel(text: string): SimLabel {
  if (NEGATIVE.test(text)) return 'negative';
  if (POSITIVE.test(text)) return 'positive';
  return 'neutral';
}

export function flipLabel(label: SimLabel): SimLabel {
  return label === 'positive' ? 'negative' : label === 'negative' ? 'positive' : 'negative';
}

function topic(text: string): string {
  const t = text.replace(/\s+/g, ' ').replace(/"/g, "'").trim();
  return t.length > 80 ? `${t.slice(0, 77)}...` : t;
}

/** The healthy answer to a user message. */
export function simAnswer(text: string): string {
  return `About "${topic(text)}": ${ADVICE[hashText(text) % ADVICE.length]}`;
}

/** A plausible answer with the wrong advice, what a bad prompt or model produces. */
export function simWrongAnswer(text: string): string {
  return `About "${topic(text)}": ${ADVICE[(hashText(text) + 3) % ADVICE.length]}`;
}

/** Whether the request asks for JSON output, as OpenAI's json_object mode or a system prompt would. */
export function wantsJson(body: { response_format?: unknown; messages: readonly SimChatMessage[] }): boolean {
  const rf = body.response_format as { type?: unknown } | undefined;
  if (rf && (rf.type === 'json_object' || rf.type === 'json_schema')) return true;
  for (const m of body.messages) {
    if ((m.role === 'system' || m.role === 'developer') && /\bjson\b/i.test(messageText(m.content))) return true;
  }
  return false;
}

export interface SimChatContentOptions {
  json: boolean;
  wrong?: boolean;
  refusal?: boolean;
  pii?: boolean;
}

/** The content a healthy (or, with flags, misbehaving) server answers to these messages. */
export function simChatContent(messages: readonly SimChatMessage[], o: SimChatContentOptions): string {
  const text = lastUserText(messages);
  let answer: string;
  let label: SimLabel | 'unknown';
  if (o.refusal) {
    answer = SIM_REFUSAL;
    label = 'unknown';
  } else {
    answer = o.wrong ? simWrongAnswer(text) : simAnswer(text);
    label = o.wrong ? flipLabel(simLabel(text)) : simLabel(text);
    if (o.pii) answer += ` ${SIM_PII_SENTENCE}`;
  }
  return o.json ? JSON.stringify({ answer, label }) : answer;
}

/** Estimated tokens, ~4 characters each like OpenAI's rule of thumb. */
export function estimateTokens(chars: number): number {
  return Math.ceil(chars / 4);
}

/** Sum of an instance's features: an array of numbers, {features|inputs: [...]}, or a number. Null if not numeric. */
export function instanceScore(instance: unknown): number | null {
  let arr: unknown = instance;
  if (typeof instance === 'number') return Number.isFinite(instance) ? instance : null;
  if (instance && typeof instance === 'object' && !Array.isArray(instance)) {
    const o = instance as { features?: unknown; inputs?: unknown };
    arr = o.features ?? o.inputs;
  }
  if (!Array.isArray(arr)) return null;
  let sum = 0;
  for (const v of arr) {
    if (typeof v !== 'number' || !Number.isFinite(v)) return null;
    sum += v;
  }
  return sum;
}

export type SimPredictOutput = 'label' | 'score';

/** The classifier: "positive" when the features sum above 0; as a score, the logistic of the sum. */
export function simPrediction(sum: number, output: SimPredictOutput, wrong = false): string | number {
  if (output === 'score') {
    const p = Math.round((1 / (1 + Math.exp(-sum))) * 10000) / 10000;
    return wrong ? Math.round((1 - p) * 10000) / 10000 : p;
  }
  const positive = sum > 0 !== wrong;
  return positive ? 'positive' : 'negative';
}
