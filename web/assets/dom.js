// DOM helpers. Every string goes into the page as a text node, never as HTML, so nothing a model,
// an alert or an API answer contains can inject markup. The one exception is the Markdown
// renderer, which escapes its input first (markdown.js).

/**
 * Creates an element. `attrs`: `class`, `on<event>` handlers, `dataset`, booleans (set when true),
 * everything else as attributes. Children: nodes, strings, numbers, arrays; null/false skipped.
 * @param {string} tag
 * @param {Record<string, any> | null} [attrs]
 * @param {...any} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [key, value] of Object.entries(attrs)) {
      if (value === undefined || value === null || value === false) continue;
      if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2).toLowerCase(), value);
      else if (key === 'dataset') Object.assign(el.dataset, value);
      else if (key === 'class') el.className = value;
      else if (key === 'value' && 'value' in el) /** @type {any} */ (el).value = value;
      else if (value === true) el.setAttribute(key, '');
      else el.setAttribute(key, String(value));
    }
  }
  append(el, children);
  return el;
}

/** @param {Node} el @param {any[]} children */
function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false || child === true) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

/** Replaces an element's children. @param {Element} el @param {...any} children */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

const pad = (/** @type {number} */ n) => String(n).padStart(2, '0');

/** Local date and time, to the second: `2025-01-31 14:03:07`. @param {string | number | undefined | null} t */
export function fmtTime(t) {
  if (t === undefined || t === null || t === '') return '—';
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return String(t);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** `12 s`, `4 min`, `3 h 5 min`, `2 d`. @param {number} ms */
export function fmtDuration(ms) {
  if (!Number.isFinite(ms)) return '—';
  const neg = ms < 0;
  let s = Math.round(Math.abs(ms) / 1000);
  let out;
  if (s < 1) out = `${Math.round(Math.abs(ms))} ms`;
  else if (s < 60) out = `${s} s`;
  else if (s < 3600) out = `${Math.floor(s / 60)} min${s % 60 ? ` ${s % 60} s` : ''}`;
  else if (s < 86400) {
    const hours = Math.floor(s / 3600);
    s -= hours * 3600;
    out = `${hours} h${s >= 60 ? ` ${Math.floor(s / 60)} min` : ''}`;
  } else out = `${Math.floor(s / 86400)} d ${Math.floor((s % 86400) / 3600)} h`;
  return neg ? `-${out}` : out;
}

/** `3 min ago`. @param {string | number | undefined | null} t */
export function fmtAgo(t) {
  if (t === undefined || t === null) return '—';
  const ms = Date.now() - new Date(t).getTime();
  if (!Number.isFinite(ms)) return '—';
  if (ms < 1500) return 'just now';
  return ms >= 0 ? `${fmtDuration(ms)} ago` : `in ${fmtDuration(-ms)}`;
}

/** A time element: local time, with the ISO time and how long ago in its tooltip. @param {string | number | undefined | null} t */
export function timeEl(t) {
  if (t === undefined || t === null || t === '') return h('span', { class: 'muted' }, '—');
  const iso = new Date(t).toISOString();
  return h('time', { datetime: iso, title: `${iso} (${fmtAgo(t)})` }, fmtTime(t));
}

/** @param {number | null | undefined} v @param {number} [digits] */
export const fmtPct = (v, digits = 1) => (v === null || v === undefined || !Number.isFinite(v) ? '—' : `${(v * 100).toFixed(digits)}%`);

/** @param {number | null | undefined} v */
export const fmtMs = (v) => (v === null || v === undefined || !Number.isFinite(v) ? '—' : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ms`);

/** @param {number | null | undefined} v @param {number} [digits] */
export const fmtNum = (v, digits = 0) => (v === null || v === undefined || !Number.isFinite(v) ? '—' : v.toFixed(digits));

/** A coloured label. @param {string} text @param {string} [kind] */
export const badge = (text, kind) => h('span', { class: `badge badge-${(kind ?? text).toLowerCase().replace(/[^a-z0-9]+/g, '-')}` }, text);

/**
 * Renders any JSON value as a compact, readable tree (evidence, validation results, audit diffs).
 * @param {any} value
 * @returns {Node}
 */
export function jsonView(value) {
  if (value === null || value === undefined) return h('span', { class: 'muted' }, '—');
  if (typeof value !== 'object') return document.createTextNode(String(value));
  if (Array.isArray(value)) {
    if (value.length === 0) return h('span', { class: 'muted' }, '[]');
    if (value.every((v) => v === null || typeof v !== 'object')) return document.createTextNode(value.join(', '));
    return h('ol', { class: 'kv-list' }, value.map((v) => h('li', null, jsonView(v))));
  }
  const entries = Object.entries(value).filter(([, v]) => v !== undefined);
  if (entries.length === 0) return h('span', { class: 'muted' }, '{}');
  return h('dl', { class: 'kv' }, entries.map(([k, v]) => [h('dt', null, k), h('dd', null, jsonView(v))]));
}

/** Version colours, stable by position so a version keeps its colour across charts. */
export const palette = ['#1f6feb', '#d97706', '#16a34a', '#9333ea', '#dc2626', '#0891b2', '#be185d', '#65a30d'];

/** A stacked bar of route weights. @param {Record<string, number>} weights @param {(v: string) => string} colorOf @param {string} [emptyText] */
export function weightBar(weights, colorOf, emptyText = 'no version serves') {
  const entries = Object.entries(weights ?? {}).filter(([, w]) => w > 0);
  if (entries.length === 0) return h('div', { class: 'weight-bar empty' }, emptyText);
  return h(
    'div',
    { class: 'weight-bar', role: 'img', 'aria-label': entries.map(([v, w]) => `${v} ${w}%`).join(', ') },
    entries.map(([v, w]) => h('span', { class: 'weight-seg', style: `flex-grow:${w};background:${colorOf(v)}`, title: `${v}: ${w}%` }, `${v} ${w}%`)),
  );
}

/**
 * A colour per version, by its position in the model's version list (oldest first); versions not
 * in the list get the next free colour.
 * @param {string[]} names
 * @returns {(version: string) => string}
 */
export function colorMap(names) {
  /** @type {Map<string, string>} */
  const m = new Map();
  names.forEach((n, i) => m.set(n, palette[i % palette.length]));
  return (v) => {
    let c = m.get(v);
    if (!c) m.set(v, (c = palette[m.size % palette.length]));
    return c;
  };
}

/**
 * Monitor-made incident titles carry their whole evidence line; lists show the first clause.
 * @param {string | undefined | null} t
 * @param {number} [max] titles up to this length are kept whole
 */
export function shortTitle(t, max = 90) {
  if (!t) return '—';
  return t.length > max && t.includes(':') ? t.slice(0, t.indexOf(':')) : t;
}
