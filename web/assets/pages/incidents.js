// Incident list, newest first, filtered by status and model (kept in the URL:
// `#/incidents?status=open&model=support-bot`). Refreshes every 2 s so new incidents appear.
import { api } from '../api.js';
import { badge, fmtAgo, h, replace, shortTitle, timeEl } from '../dom.js';

const statuses = ['open', 'acknowledged', 'contained', 'mitigated', 'resolved', 'reviewed', 'declined'];

/** @param {HTMLElement} root @param {{ query: URLSearchParams }} route @param {import('../app.js').PageContext} page */
export async function mount(root, route, page) {
  const status = route.query.get('status') ?? '';
  const model = route.query.get('model') ?? '';

  const statusSelect = /** @type {HTMLSelectElement} */ (
    h('select', { name: 'status', 'aria-label': 'Status' }, h('option', { value: '' }, 'any status'), h('option', { value: 'active' }, 'active (not resolved)'), statuses.map((s) => h('option', { value: s }, s)))
  );
  statusSelect.value = status;
  const modelSelect = /** @type {HTMLSelectElement} */ (h('select', { name: 'model', 'aria-label': 'Model' }, h('option', { value: '' }, 'any model')));
  const apply = () => {
    const q = new URLSearchParams();
    if (statusSelect.value) q.set('status', statusSelect.value);
    if (modelSelect.value) q.set('model', modelSelect.value);
    const qs = q.toString();
    page.navigate(`#/incidents${qs ? `?${qs}` : ''}`);
  };
  statusSelect.addEventListener('change', apply);
  modelSelect.addEventListener('change', apply);

  const tbody = h('tbody');
  const count = h('span', { class: 'muted small' });
  root.append(
    h('div', { class: 'page-head' }, h('h1', null, 'Incidents'), count),
    h('div', { class: 'filters' }, h('label', null, 'Status ', statusSelect), h('label', null, 'Model ', modelSelect)),
    h('section', { class: 'card' }, h('table', { class: 'table', dataset: { testid: 'incidents' } }, h('thead', null, h('tr', null, ['Incident', 'Severity', 'Status', 'Model', 'Title', 'Detected', 'Age'].map((c) => h('th', null, c)))), tbody)),
  );

  api('/models')
    .then(({ models }) => {
      for (const m of models) modelSelect.append(h('option', { value: m.name }, m.name));
      modelSelect.value = model;
    })
    .catch(() => {
      if (model) modelSelect.append(h('option', { value: model }, model));
      modelSelect.value = model;
    });

  async function refresh() {
    const q = new URLSearchParams();
    if (status === 'active') q.set('active', 'true');
    else if (status) q.set('status', status);
    if (model) q.set('model', model);
    q.set('limit', '200');
    const { incidents } = await api(`/incidents?${q}`);
    if (!page.alive()) return;
    count.textContent = `${incidents.length} shown · refreshes every 2 s`;
    replace(
      tbody,
      incidents.length === 0
        ? h('tr', null, h('td', { colspan: 7, class: 'muted' }, status || model ? 'No incident matches these filters.' : 'No incidents. Monitors are watching every live version.'))
        : incidents.map((/** @type {any} */ i) =>
            h(
              'tr',
              { class: `sev-row sev-${String(i.severity).toLowerCase()}`, dataset: { incident: i.id, status: i.status } },
              h('td', { class: 'nowrap' }, h('a', { href: `#/incidents/${encodeURIComponent(i.id)}` }, i.id)),
              h('td', null, badge(i.severity)),
              h('td', null, badge(i.status)),
              h('td', { class: 'nowrap' }, h('a', { href: `#/models/${encodeURIComponent(i.model)}` }, i.model), i.version ? h('span', { class: 'muted' }, `@${i.version}`) : null),
              h('td', { title: i.title ?? '' }, shortTitle(i.title)),
              h('td', null, timeEl(i.detectedAt)),
              h('td', { class: 'muted' }, fmtAgo(i.detectedAt)),
            ),
          ),
    );
  }

  await refresh();
  page.every(2000, refresh);
}

