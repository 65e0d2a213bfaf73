// Overview: every model with its mode, route weights, live traffic per version and charts of the
// last five minutes (error rate, latency p50/p95, feedback). Refreshes every 2 s in place.
import { api, apiOptional } from '../api.js';
import { modelCharts } from '../charts.js';
import { badge, colorMap, fmtMs, fmtNum, fmtPct, fmtTime, h, replace, shortTitle, weightBar } from '../dom.js';

const WINDOW_SECONDS = 300;

/** @param {HTMLElement} root @param {any} _route @param {import('../app.js').PageContext} page */
export async function mount(root, _route, page) {
  const updated = h('span', { class: 'muted small', dataset: { testid: 'updated' } });
  const incidentsStrip = h('div', { class: 'incident-strip', hidden: true });
  const list = h('div', { class: 'model-list' });
  root.append(h('div', { class: 'page-head' }, h('h1', null, 'Models'), h('span', { class: 'muted small' }, `last ${WINDOW_SECONDS / 60} minutes · refreshes every 2 s · `, updated)), incidentsStrip, list);

  /** @type {Map<string, ReturnType<typeof modelCard>>} */
  const cards = new Map();
  page.onLeave(() => {
    for (const c of cards.values()) c.destroy();
  });

  async function refresh() {
    const [{ models }, incidents] = await Promise.all([api('/models'), apiOptional('/incidents?active=true').catch(() => undefined)]);
    if (!page.alive()) return;
    renderIncidents(incidentsStrip, incidents);
    if (models.length === 0) {
      replace(list, h('div', { class: 'card empty-state' }, h('p', null, 'No models yet.'), h('p', { class: 'muted' }, 'Add models in failsafe.yaml, or with ', h('code', null, 'failsafe models add'), ' / ', h('code', null, 'POST /api/v1/models'), '.')));
      for (const c of cards.values()) c.destroy();
      cards.clear();
    } else {
      const names = models.map((/** @type {any} */ m) => m.name);
      for (const [name, card] of cards) {
        if (!names.includes(name)) {
          card.destroy();
          cards.delete(name);
        }
      }
      if (list.querySelector('.empty-state')) list.replaceChildren();
      models.forEach((/** @type {any} */ m, /** @type {number} */ i) => {
        let card = cards.get(m.name);
        if (!card) {
          card = modelCard(m);
          cards.set(m.name, card);
        }
        // Keep the server's order (and a new model in its place).
        if (list.children[i] !== card.el) list.insertBefore(card.el, list.children[i] ?? null);
      });
    }
    const metrics = await Promise.all(models.map((/** @type {any} */ m) => api(`/models/${encodeURIComponent(m.name)}/metrics?window=${WINDOW_SECONDS}`).catch(() => undefined)));
    if (!page.alive()) return;
    models.forEach((/** @type {any} */ m, /** @type {number} */ i) => cards.get(m.name)?.update(m, metrics[i]));
    updated.textContent = `updated ${fmtTime(Date.now()).slice(11)}`;
  }

  await refresh();
  page.every(2000, refresh);
}

/** @param {HTMLElement} el @param {any} answer */
function renderIncidents(el, answer) {
  const open = answer?.incidents ?? [];
  el.hidden = open.length === 0;
  if (open.length === 0) return;
  replace(
    el,
    h('strong', null, `${open.length} active incident${open.length === 1 ? '' : 's'}: `),
    open.slice(0, 5).map((/** @type {any} */ i) => h('a', { href: `#/incidents/${encodeURIComponent(i.id)}`, class: 'incident-chip', title: i.title }, badge(i.severity), ` ${shortTitle(i.title ?? i.id, 60)} · ${i.status}`)),
    open.length > 5 ? h('a', { href: '#/incidents?status=active' }, `and ${open.length - 5} more`) : null,
  );
}

/** @param {any} model */
function modelCard(model) {
  const colorOf = colorMap((model.versions ?? []).map((/** @type {any} */ v) => v.version));
  const head = h('div', { class: 'card-head' });
  const bar = h('div', { class: 'route-row' });
  const table = h('table', { class: 'table compact traffic' });
  const charts = modelCharts(colorOf);
  const el = h('section', { class: 'card model-card', dataset: { model: model.name } }, head, bar, table, charts.el);
  return {
    el,
    /** @param {any} m @param {any} metrics */
    update(m, metrics) {
      replace(
        head,
        h('h2', null, h('a', { href: `#/models/${encodeURIComponent(m.name)}` }, m.name)),
        badge(m.kind, 'kind'),
        badge(m.mode, `mode-${m.mode}`),
        m.stableVersion ? h('span', { class: 'muted small' }, `last stable: ${m.stableVersion}`) : h('span', { class: 'muted small' }, 'no stable version yet'),
        m.shadow ? h('span', { class: 'muted small' }, `shadow: ${m.shadow.version} (${m.shadow.percent}%)`) : null,
      );
      replace(bar, h('span', { class: 'label' }, 'Route'), weightBar(m.mode === 'serving' ? m.weights : {}, colorOf, m.mode === 'paused' ? 'paused' : 'fallback answers only'), m.mode !== 'serving' ? h('span', { class: 'muted small' }, m.mode === 'paused' ? 'paused: clients get 503 or fallback answers' : 'fallback mode: every request is answered by the fallback') : null);
      const byVersion = new Map((metrics?.versions ?? []).filter((/** @type {any} */ v) => !v.shadow).map((/** @type {any} */ v) => [v.version, v]));
      const rows = (m.versions ?? []).filter((/** @type {any} */ v) => v.weight > 0 || byVersion.has(v.version));
      replace(
        table,
        h('thead', null, h('tr', null, ['Version', 'State', 'Weight', 'Req/s', 'Error rate', 'p50', 'p95', 'Ratings + / −'].map((c, i) => h('th', { class: i >= 3 ? 'num' : undefined, title: i >= 3 ? 'last 10 seconds' : undefined }, c)))),
        h(
          'tbody',
          null,
          rows.length === 0
            ? h('tr', null, h('td', { colspan: 8, class: 'muted' }, 'No version serves and none had traffic in this window.'))
            : rows.map((/** @type {any} */ v) => {
                const r = byVersion.get(v.version)?.recent;
                return h(
                  'tr',
                  { dataset: { version: v.version } },
                  h('td', null, h('span', { class: 'swatch', style: `background:${colorOf(v.version)}` }), v.version),
                  h('td', null, badge(v.state)),
                  h('td', null, `${v.weight}%`),
                  h('td', { class: 'num' }, fmtNum(r?.rps, 1)),
                  h('td', { class: `num ${r?.errorRate > 0.05 ? 'bad' : ''}` }, fmtPct(r?.errorRate)),
                  h('td', { class: 'num' }, fmtMs(r?.p50)),
                  h('td', { class: 'num' }, fmtMs(r?.p95)),
                  h('td', { class: 'num' }, r ? `${r.feedbackPositive} / ${r.feedbackNegative}` : '—'),
                );
              }),
        ),
      );
      charts.update(metrics);
    },
    destroy() {
      charts.destroy();
    },
  };
}
