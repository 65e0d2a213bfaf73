// The audit log, newest first, with the hash chain's status (GET /api/v1/audit/verify) on top.
// Filters (target, action) live in the URL: `#/audit?target=model:support-bot`.
import { api, errorText } from '../api.js';
import { badge, h, jsonView, replace, timeEl } from '../dom.js';

const PAGE_SIZE = 200;

/** @param {HTMLElement} root @param {{ query: URLSearchParams }} route @param {import('../app.js').PageContext} page */
export async function mount(root, route, page) {
  const target = route.query.get('target') ?? '';
  const action = route.query.get('action') ?? '';
  const chain = h('div', { class: 'chain-status', dataset: { testid: 'chain-status' } }, 'Verifying the hash chain…');
  const targetInput = /** @type {HTMLInputElement} */ (h('input', { name: 'target', type: 'search', placeholder: 'target, e.g. model:support-bot', value: target }));
  const actionInput = /** @type {HTMLInputElement} */ (h('input', { name: 'action', type: 'search', placeholder: 'action, e.g. route.update', value: action }));
  const filters = h(
    'form',
    {
      class: 'filters',
      onsubmit: (/** @type {Event} */ e) => {
        e.preventDefault();
        const q = new URLSearchParams();
        if (targetInput.value.trim()) q.set('target', targetInput.value.trim());
        if (actionInput.value.trim()) q.set('action', actionInput.value.trim());
        const qs = q.toString();
        page.navigate(`#/audit${qs ? `?${qs}` : ''}`);
      },
    },
    targetInput,
    actionInput,
    h('button', { type: 'submit', class: 'btn' }, 'Filter'),
    target || action ? h('a', { href: '#/audit', class: 'btn btn-ghost' }, 'Clear') : null,
  );
  const tbody = h('tbody');
  const count = h('span', { class: 'muted small' });
  root.append(
    h('div', { class: 'page-head' }, h('h1', null, 'Audit log'), count),
    chain,
    filters,
    h('section', { class: 'card' }, h('table', { class: 'table compact', dataset: { testid: 'audit' } }, h('thead', null, h('tr', null, ['#', 'When', 'Actor', 'Action', 'Target', 'Reason', 'Change'].map((c) => h('th', null, c)))), tbody)),
  );

  const verify = async () => {
    try {
      const v = await api('/audit/verify');
      if (!page.alive()) return;
      const ok = v.ok === true;
      chain.className = `chain-status ${ok ? 'ok' : 'broken'}`;
      replace(
        chain,
        ok ? '✔ ' : '✖ ',
        h('strong', null, ok ? 'Hash chain intact' : 'Hash chain BROKEN'),
        ` — ${v.entries ?? '?'} entries checked`,
        !ok ? h('div', { class: 'small' }, jsonView(Object.fromEntries(Object.entries(v).filter(([k]) => k !== 'ok' && k !== 'entries')))) : null,
      );
    } catch (err) {
      chain.className = 'chain-status broken';
      replace(chain, `Could not verify the chain: ${errorText(err)}`);
    }
  };

  const load = async () => {
    const q = new URLSearchParams({ order: 'desc', limit: String(PAGE_SIZE) });
    if (target) q.set('target', target);
    if (action) q.set('action', action);
    const { entries } = await api(`/audit?${q}`);
    if (!page.alive()) return;
    count.textContent = entries.length >= PAGE_SIZE ? `newest ${PAGE_SIZE} entries` : `${entries.length} entries`;
    replace(
      tbody,
      entries.length === 0
        ? h('tr', null, h('td', { colspan: 7, class: 'muted' }, 'No entries.'))
        : entries.map((/** @type {any} */ e) =>
            h(
              'tr',
              { dataset: { seq: e.seq } },
              h('td', { class: 'num' }, String(e.seq)),
              h('td', null, timeEl(e.at)),
              h('td', null, e.actor),
              h('td', null, badge(e.action, 'kind')),
              h('td', null, h('a', { href: `#/audit?target=${encodeURIComponent(e.target)}` }, e.target)),
              h('td', null, e.reason ?? '—'),
              h(
                'td',
                null,
                e.before === undefined && e.after === undefined
                  ? '—'
                  : h('details', null, h('summary', null, 'before / after'), h('div', { class: 'diff' }, h('div', null, h('div', { class: 'muted small' }, 'before'), jsonView(e.before)), h('div', null, h('div', { class: 'muted small' }, 'after'), jsonView(e.after))), h('div', { class: 'muted small mono' }, `hash ${String(e.hash).slice(0, 16)}… prev ${String(e.prevHash).slice(0, 16)}…`)),
              ),
            ),
          ),
    );
  };

  await Promise.all([verify(), load()]);
  // Open <details> would collapse on every re-render: refresh only the chain status on a timer.
  page.every(10_000, verify);
}
