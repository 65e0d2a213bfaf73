// One model: versions and their states, the route as it serves now and its history, charts,
// deployments, and the actions an operator may take (pause, resume, isolate, rollback, deploy,
// promote/abort a running deployment).
import { api, apiOptional, errorText } from '../api.js';
import { confirmButton, openRollbackDialog } from '../actions.js';
import { modelCharts } from '../charts.js';
import { field, openDialog } from '../dialog.js';
import { badge, colorMap, fmtDuration, fmtMs, fmtNum, fmtPct, h, jsonView, replace, timeEl, weightBar } from '../dom.js';
import { can } from '../session.js';

const deploymentStore = 'failsafe.deployments';

/** Deployment ids started from this tab, per model: a fallback when the server has no list. @param {string} model */
const rememberedDeployments = (model) => {
  try {
    return /** @type {string[]} */ (JSON.parse(sessionStorage.getItem(deploymentStore) ?? '{}')[model] ?? []);
  } catch (_e) {
    return [];
  }
};
/** @param {string} model @param {string} id */
const rememberDeployment = (model, id) => {
  /** @type {Record<string, string[]>} */
  let all = {};
  try {
    all = JSON.parse(sessionStorage.getItem(deploymentStore) ?? '{}');
  } catch (_e) {
    /* start over */
  }
  all[model] = [id, ...(all[model] ?? []).filter((x) => x !== id)].slice(0, 10);
  sessionStorage.setItem(deploymentStore, JSON.stringify(all));
};

/** @param {HTMLElement} root @param {{ params: { name: string } }} route @param {import('../app.js').PageContext} page */
export async function mount(root, route, page) {
  const name = route.params.name;
  const path = `/models/${encodeURIComponent(name)}`;
  const head = h('div', { class: 'page-head' });
  const actions = h('div', { class: 'actions', dataset: { testid: 'model-actions' } });
  const routeCard = h('section', { class: 'card' });
  const deployCard = h('section', { class: 'card', dataset: { testid: 'deployments' } });
  const versionsCard = h('section', { class: 'card' });
  const historyCard = h('section', { class: 'card' });
  const rollbacksCard = h('section', { class: 'card', dataset: { testid: 'rollbacks' }, hidden: true });
  const chartCard = h('section', { class: 'card' }, h('h2', null, 'Last 5 minutes'));
  root.append(h('nav', { class: 'crumbs' }, h('a', { href: '#/' }, 'Models'), ' / ', name), head, actions, h('div', { class: 'grid-2' }, routeCard, deployCard), versionsCard, chartCard, rollbacksCard, historyCard);

  /** @type {ReturnType<typeof modelCharts> | null} */
  let charts = null;
  page.onLeave(() => charts?.destroy());

  const refreshSoon = () => void refresh().catch((err) => page.flash(errorText(err)));

  /** Runs an action from a plain button; shows the server's error in the page and keeps going. @param {() => Promise<any>} fn @param {string} done */
  const act = async (fn, done) => {
    try {
      await fn();
      page.flash(done, 'ok');
    } catch (err) {
      page.flash(errorText(err), 'error');
    }
    refreshSoon();
  };

  async function refresh() {
    const [detail, history, metrics, deployments, rollbacks] = await Promise.all([
      api(path),
      apiOptional(`${path}/route/history?limit=50`).catch(() => undefined),
      apiOptional(`${path}/metrics?window=300`).catch(() => undefined),
      loadDeployments(name),
      apiOptional(`${path}/rollbacks?limit=10`).catch(() => undefined),
    ]);
    if (!page.alive()) return;
    const model = detail.model;
    const versions = detail.versions ?? [];
    const colorOf = colorMap(versions.map((/** @type {any} */ v) => v.version));
    if (!charts) {
      charts = modelCharts(colorOf);
      chartCard.append(charts.el);
    }

    replace(head, h('h1', null, model.name), badge(model.kind, 'kind'), badge(model.mode, `mode-${model.mode}`), model.stableVersion ? h('span', { class: 'muted' }, `last known stable: ${model.stableVersion}`) : h('span', { class: 'muted' }, 'no stable version yet'));

    renderActions(model, versions, deployments);

    const r = detail.route;
    replace(
      routeCard,
      h('h2', null, 'Route'),
      weightBar(model.mode === 'serving' ? (r?.weights ?? model.weights) : {}, colorOf, model.mode === 'paused' ? 'paused: clients get 503 or fallback answers' : 'fallback mode: every request gets the fallback answer'),
      h(
        'dl',
        { class: 'kv' },
        h('dt', null, 'Mode'),
        h('dd', null, badge(model.mode, `mode-${model.mode}`)),
        h('dt', null, 'Weights'),
        h('dd', null, Object.entries(r?.weights ?? model.weights ?? {}).map(([v, w]) => `${v}: ${w}%`).join(', ') || '—'),
        h('dt', null, 'Shadow'),
        h('dd', null, r?.shadow ? `${r.shadow.version} (${r.shadow.percent}% mirrored)` : '—'),
        h('dt', null, 'Sticky key'),
        h('dd', null, r?.stickyKey ?? '—'),
        h('dt', null, 'Revision'),
        h('dd', null, String(r?.revision ?? 0)),
        h('dt', null, 'Changed'),
        h('dd', null, r ? [timeEl(r.updatedAt), ` by ${r.updatedBy}`] : '—'),
        h('dt', null, 'Reason'),
        h('dd', null, r?.reason ?? '—'),
      ),
    );

    renderDeployments(deployments);

    const live = (metrics?.versions ?? []).filter((/** @type {any} */ v) => !v.shadow);
    const liveOf = new Map(live.map((/** @type {any} */ v) => [v.version, v.recent]));
    replace(
      versionsCard,
      h('h2', null, 'Versions'),
      h(
        'table',
        { class: 'table', dataset: { testid: 'versions' } },
        h('thead', null, h('tr', null, ['Version', 'State', 'Weight', 'Req/s', 'Errors', 'p95', 'Upstream', 'Created', 'Live since', 'Stable since', ''].map((c, i) => h('th', { class: i >= 3 && i <= 5 ? 'num' : undefined }, c)))),
        h(
          'tbody',
          null,
          versions.length === 0
            ? h('tr', null, h('td', { colspan: 11, class: 'muted' }, 'No versions registered.'))
            : versions.map((/** @type {any} */ v) => {
                const rec = liveOf.get(v.version);
                return h(
                  'tr',
                  { dataset: { version: v.version } },
                  h('td', null, h('span', { class: 'swatch', style: `background:${colorOf(v.version)}` }), h('strong', null, v.version), v.metadata?.gitSha || v.metadata?.git_sha ? h('div', { class: 'muted small' }, String(v.metadata.gitSha ?? v.metadata.git_sha).slice(0, 10)) : null),
                  h('td', null, badge(v.state)),
                  h('td', null, `${v.weight}%`),
                  h('td', { class: 'num' }, fmtNum(rec?.rps, 1)),
                  h('td', { class: 'num' }, fmtPct(rec?.errorRate)),
                  h('td', { class: 'num' }, fmtMs(rec?.p95)),
                  h('td', { class: 'small mono upstream', title: v.upstream?.url }, `${v.upstream?.model ?? ''} ${v.upstream?.url ?? ''}`.trim()),
                  h('td', null, timeEl(v.createdAt)),
                  h('td', null, timeEl(v.liveSince)),
                  h('td', null, timeEl(v.stableSince)),
                  h(
                    'td',
                    { class: 'row-actions' },
                    can('operator') && v.weight > 0 && model.mode === 'serving'
                      ? confirmButton({
                          label: 'Isolate',
                          action: 'isolate',
                          danger: true,
                          title: `Isolate ${name}@${v.version}?`,
                          text: `Takes ${v.version} out of rotation at once: its traffic moves to the other versions (or the last stable one). The version is kept for investigation.`,
                          run: () => api(`${path}/versions/${encodeURIComponent(v.version)}/isolate`, { method: 'POST', body: { reason: 'isolated from the dashboard' } }),
                          onDone: () => {
                            page.flash(`${v.version} isolated.`, 'ok');
                            refreshSoon();
                          },
                        })
                      : null,
                  ),
                );
              }),
        ),
      ),
    );

    charts.update(metrics);
    renderRollbacks(rollbacks?.rollbacks);

    const changes = history?.history ?? [];
    replace(
      historyCard,
      h('h2', null, 'Route history'),
      history === undefined
        ? h('p', { class: 'muted' }, 'Route history is not available on this server.')
        : h(
            'table',
            { class: 'table compact', dataset: { testid: 'route-history' } },
            h('thead', null, h('tr', null, ['Rev', 'When', 'Mode', 'Weights', 'Shadow', 'By', 'Reason'].map((c) => h('th', null, c)))),
            h(
              'tbody',
              null,
              changes.length === 0
                ? h('tr', null, h('td', { colspan: 7, class: 'muted' }, 'No route changes yet.'))
                : changes.map((/** @type {any} */ c) =>
                    h(
                      'tr',
                      null,
                      h('td', { class: 'num' }, String(c.revision)),
                      h('td', null, timeEl(c.at)),
                      h('td', null, badge(c.mode, `mode-${c.mode}`)),
                      h('td', null, weightBar(c.weights, colorOf)),
                      h('td', null, c.shadow ? `${c.shadow.version} ${c.shadow.percent}%` : '—'),
                      h('td', null, c.actor),
                      h('td', null, c.reason ?? '—'),
                    ),
                  ),
            ),
          ),
    );
  }

  /** @param {any} model @param {any[]} versions @param {any[]} deployments */
  function renderActions(model, versions, deployments) {
    if (!can('operator')) {
      replace(actions);
      return;
    }
    const running = deployments.find((d) => d.status === 'running' || d.status === 'paused');
    replace(
      actions,
      model.mode === 'serving'
        ? confirmButton({
            label: 'Pause',
            action: 'pause',
            danger: true,
            title: `Pause ${name}?`,
            text: 'Clients get a clean 503 (or the configured fallback answer) until you resume. No version is changed.',
            run: () => api(`${path}/pause`, { method: 'POST', body: { reason: 'paused from the dashboard' } }),
            onDone: () => {
              page.flash(`${name} paused.`, 'ok');
              refreshSoon();
            },
          })
        : h('button', { type: 'button', class: 'btn btn-primary', dataset: { action: 'resume' }, onclick: () => act(() => api(`${path}/resume`, { method: 'POST', body: { reason: 'resumed from the dashboard' } }), `${name} resumed.`) }, 'Resume'),
      h(
        'button',
        {
          type: 'button',
          class: 'btn btn-danger-outline',
          dataset: { action: 'rollback' },
          onclick: () => openRollbackDialog({ model: name, versions, stableVersion: model.stableVersion, onDone: refreshSoon }),
        },
        'Roll back…',
      ),
      h('button', { type: 'button', class: 'btn', dataset: { action: 'deploy' }, disabled: running ? true : undefined, title: running ? `deployment ${running.id} is ${running.status}` : undefined, onclick: () => openDeployDialog(versions) }, 'Deploy…'),
    );
  }

  /** @param {any[]} versions */
  function openDeployDialog(versions) {
    const choices = versions.filter((v) => v.weight === 0 && v.state !== 'faulty' && v.state !== 'retired');
    const version = /** @type {HTMLSelectElement} */ (h('select', { name: 'version' }, choices.length ? choices.map((v) => h('option', { value: v.version }, `${v.version} (${v.state})`)) : h('option', { value: '' }, 'no version to deploy')));
    const steps = /** @type {HTMLInputElement} */ (h('input', { name: 'steps', type: 'text', value: '5, 25, 50, 100', inputmode: 'numeric' }));
    const stepSeconds = /** @type {HTMLInputElement} */ (h('input', { name: 'stepSeconds', type: 'number', min: 1, placeholder: 'server default' }));
    const shadow = /** @type {HTMLInputElement} */ (h('input', { name: 'shadowPercent', type: 'number', min: 0, max: 100, placeholder: '0' }));
    openDialog({
      title: `Deploy a version of ${name}`,
      testId: 'deploy-dialog',
      confirmLabel: 'Start deployment',
      body: [
        h('p', null, 'A canary: the new version gets a growing share of traffic step by step, compared with the stable version; it is promoted when healthy and aborted automatically when not.'),
        field('Version', version),
        field('Steps (% of traffic)', steps, 'comma-separated, ending at 100'),
        field('Seconds per step', stepSeconds),
        field('Shadow traffic first (%)', shadow, 'optional: mirror this share before the canary'),
      ],
      async onConfirm() {
        if (!version.value) throw new Error('There is no version to deploy: register one first.');
        /** @type {Record<string, any>} */
        const body = { version: version.value };
        const list = steps.value.split(/[\s,]+/).filter(Boolean).map(Number);
        if (list.some((n) => !Number.isFinite(n))) throw new Error('Steps must be numbers, e.g. 5, 25, 50, 100.');
        if (list.length) body.steps = list;
        if (stepSeconds.value) body.stepSeconds = Number(stepSeconds.value);
        if (shadow.value) body.shadowPercent = Number(shadow.value);
        const answer = await api(`${path}/deployments`, { method: 'POST', body });
        const d = answer.deployment ?? answer;
        if (d?.id) rememberDeployment(name, d.id);
        return h('div', null, h('p', null, 'Deployment ', h('code', null, d?.id ?? '?'), ' started: ', badge(d?.status ?? 'running')));
      },
      onClose: (ran) => ran && refreshSoon(),
    });
  }

  /** @param {any[] | undefined} list */
  function renderRollbacks(list) {
    rollbacksCard.hidden = list === undefined;
    if (!list) return;
    replace(
      rollbacksCard,
      h('h2', null, 'Rollbacks'),
      list.length === 0
        ? h('p', { class: 'muted' }, 'This model was never rolled back.')
        : h(
            'table',
            { class: 'table compact' },
            h('thead', null, h('tr', null, ['Started', 'From → to', 'Status', 'Validation', 'Took', 'By', 'Reason'].map((c) => h('th', null, c)))),
            h(
              'tbody',
              null,
              list.map((/** @type {any} */ r) =>
                h(
                  'tr',
                  { dataset: { rollback: r.id } },
                  h('td', null, timeEl(r.startedAt)),
                  h('td', null, `${r.from ?? '?'} → ${r.to ?? r.requestedTo ?? '—'}`),
                  h('td', null, badge(r.status)),
                  h('td', { title: r.validation?.summary }, r.validation?.passed ? badge('passed', 'ok') : badge('failed', 'bad'), r.validation?.kind ? h('span', { class: 'muted small' }, ` ${r.validation.kind}`) : null),
                  h('td', { class: 'num' }, r.durationMs !== undefined ? fmtDuration(r.durationMs) : '—'),
                  h('td', null, r.actor),
                  h('td', null, r.reason ?? '—', r.incidentId ? [' · ', h('a', { href: `#/incidents/${encodeURIComponent(r.incidentId)}` }, r.incidentId)] : null),
                ),
              ),
            ),
          ),
    );
  }

  /** @param {any[]} deployments */
  function renderDeployments(deployments) {
    replace(
      deployCard,
      h('h2', null, 'Deployments'),
      deployments.length === 0
        ? h('p', { class: 'muted' }, 'No deployment of this model is known here.')
        : deployments.slice(0, 5).map((d) => {
            const active = d.status === 'running' || d.status === 'paused';
            const dPath = `/deployments/${encodeURIComponent(d.id)}`;
            return h(
              'div',
              { class: `deployment ${active ? 'active' : ''}`, dataset: { deployment: d.id } },
              h(
                'div',
                { class: 'deployment-head' },
                h('strong', null, `${d.version}`),
                d.baseline ? h('span', { class: 'muted small' }, `vs ${d.baseline}`) : null,
                badge(d.status),
                d.phase ? badge(d.phase, 'kind') : null,
                h('code', { class: 'muted small' }, d.id),
              ),
              typeof d.step === 'number' ? rolloutBar(d) : null,
              d.reason ? h('p', { class: 'small' }, d.reason) : null,
              latestAnalysis(d),
              active && can('operator')
                ? h(
                    'div',
                    { class: 'actions' },
                    confirmButton({ label: 'Promote', action: 'promote', title: `Promote ${d.version} to 100%?`, text: 'Skips the remaining steps and analyses.', run: () => api(`${dPath}/promote`, { method: 'POST' }), onDone: refreshSoon }),
                    d.status === 'running'
                      ? h('button', { type: 'button', class: 'btn', dataset: { action: 'pause-deployment' }, onclick: () => act(() => api(`${dPath}/pause`, { method: 'POST' }), 'Deployment paused.') }, 'Pause')
                      : h('button', { type: 'button', class: 'btn', dataset: { action: 'resume-deployment' }, onclick: () => act(() => api(`${dPath}/resume`, { method: 'POST' }), 'Deployment resumed.') }, 'Resume'),
                    confirmButton({ label: 'Abort', action: 'abort', danger: true, title: `Abort the deployment of ${d.version}?`, text: 'All traffic returns to the stable version.', run: () => api(`${dPath}/abort`, { method: 'POST' }), onDone: refreshSoon }),
                  )
                : null,
              Array.isArray(d.analyses) && d.analyses.length > 1 ? h('details', null, h('summary', null, `All ${d.analyses.length} analyses`), jsonView(d.analyses.slice(-10).map((/** @type {any} */ a) => ({ at: a.at, phase: a.phase, step: a.step, decision: a.decision, reason: a.reason })))) : null,
            );
          }),
    );
  }

  await refresh();
  page.every(2000, refresh);
}

/** The candidate's share now, with the planned steps marked. @param {any} d */
function rolloutBar(d) {
  const steps = Array.isArray(d.steps) ? d.steps : [];
  return h(
    'div',
    { class: 'rollout', title: steps.length ? `steps ${steps.join(', ')}%` : undefined },
    h('div', { class: 'rollout-track' }, h('div', { class: 'rollout-fill', style: `width:${Math.max(0, Math.min(100, d.step))}%` }), steps.map((/** @type {number} */ st) => h('span', { class: 'rollout-tick', style: `left:${st}%` }))),
    h('span', { class: 'small' }, `${d.step}% of traffic`, steps.length && d.stepIndex >= 0 ? ` · step ${d.stepIndex + 1} of ${steps.length}` : ''),
  );
}

/** The last analysis: its decision and each monitor's verdict with the numbers behind it. @param {any} d */
function latestAnalysis(d) {
  const a = Array.isArray(d.analyses) ? d.analyses[d.analyses.length - 1] : undefined;
  if (!a) return null;
  return h(
    'div',
    { class: 'analysis' },
    h('p', { class: 'small' }, 'Last analysis ', timeEl(a.at), `: ${a.decision ?? a.action ?? '—'}`, a.reason ? ` — ${a.reason}` : ''),
    Array.isArray(a.monitors) && a.monitors.length
      ? h(
          'table',
          { class: 'table compact' },
          h('tbody', null, a.monitors.map((/** @type {any} */ m) => h('tr', null, h('td', null, m.monitor), h('td', null, badge(m.status)), h('td', { class: 'small' }, m.summary ?? m.detail ?? '')))),
        )
      : null,
  );
}

/**
 * Deployments of a model: from a list endpoint when the server has one, otherwise the ones this
 * tab started (each read by id).
 * @param {string} model
 * @returns {Promise<any[]>}
 */
async function loadDeployments(model) {
  const listed =
    (await apiOptional(`/models/${encodeURIComponent(model)}/deployments`).catch(() => undefined)) ??
    (await apiOptional(`/deployments?model=${encodeURIComponent(model)}`).catch(() => undefined));
  if (Array.isArray(listed?.deployments)) {
    // Lists carry summaries: the active ones are read in full (plan steps, latest analyses).
    return Promise.all(
      listed.deployments.slice(0, 5).map(async (/** @type {any} */ d) => {
        if (d.status !== 'running' && d.status !== 'paused') return d;
        const full = await apiOptional(`/deployments/${encodeURIComponent(d.id)}`).catch(() => undefined);
        return full?.deployment ? { ...d, ...full.deployment } : d;
      }),
    );
  }
  const ids = rememberedDeployments(model);
  const found = await Promise.all(ids.map((id) => apiOptional(`/deployments/${encodeURIComponent(id)}`).catch(() => undefined)));
  return found.filter(Boolean).map((a) => a.deployment ?? a);
}
