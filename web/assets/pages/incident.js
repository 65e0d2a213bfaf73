// One incident: severity, status and its timestamps, impact, evidence charts around the onset,
// evidence, RCA hypotheses, the runbook checklist, the timeline and the postmortem draft; and
// the operator's actions (acknowledge, resolve, roll back, add a note).
import { api, apiOptional, ApiError, errorText } from '../api.js';
import { confirmButton, openRollbackDialog } from '../actions.js';
import { modelCharts } from '../charts.js';
import { field, openDialog } from '../dialog.js';
import { badge, colorMap, fmtDuration, fmtPct, fmtTime, h, jsonView, replace, shortTitle, timeEl } from '../dom.js';
import { renderMarkdown } from '../markdown.js';
import { can } from '../session.js';

/** Evidence charts: this long before the onset and after detection. */
const BEFORE_ONSET_MS = 2 * 60_000;
const AFTER_DETECTION_MS = 3 * 60_000;
const lifecycle = ['open', 'acknowledged', 'contained', 'mitigated', 'resolved', 'reviewed'];
/** @type {Record<string, string>} */
const stampOf = { open: 'detectedAt', acknowledged: 'acknowledgedAt', contained: 'containedAt', mitigated: 'mitigatedAt', resolved: 'resolvedAt', reviewed: 'reviewedAt', declined: 'declinedAt' };
const closed = ['resolved', 'reviewed', 'declined'];

/** @param {HTMLElement} root @param {{ params: { id: string } }} route @param {import('../app.js').PageContext} page */
export async function mount(root, route, page) {
  const id = route.params.id;
  const path = `/incidents/${encodeURIComponent(id)}`;
  const head = h('div', { class: 'page-head' });
  const actions = h('div', { class: 'actions', dataset: { testid: 'incident-actions' } });
  const progress = h('section', { class: 'card', dataset: { testid: 'progress' } });
  const timing = h('section', { class: 'card' });
  const impact = h('section', { class: 'card' });
  const chartsCard = h('section', { class: 'card', dataset: { testid: 'evidence-charts' } }, h('h2', null, 'Around the onset'));
  const evidence = h('section', { class: 'card' });
  const rca = h('section', { class: 'card', dataset: { testid: 'rca' } }, h('h2', null, 'Root-cause hypotheses'), h('p', { class: 'muted' }, 'Loading…'));
  const checklistBody = h('div');
  const compliance = h('details', { class: 'compliance', hidden: true, ontoggle: () => void loadCompliance() }, h('summary', null, 'Compliance report'), h('div', { class: 'markdown' }, 'Loading…'));
  const checklist = h('section', { class: 'card', dataset: { testid: 'checklist' } }, checklistBody, compliance);
  /** Last rendered content of the sections that hold <details>: re-rendered only on change, so they stay open. */
  const rendered = { checklist: '', timeline: '', evidence: '', impact: '' };
  const timeline = h('section', { class: 'card', dataset: { testid: 'timeline' } });
  const postmortem = h('section', { class: 'card', dataset: { testid: 'postmortem' } }, h('h2', null, 'Postmortem'), h('p', { class: 'muted' }, 'Loading…'));
  root.append(
    h('nav', { class: 'crumbs' }, h('a', { href: '#/incidents' }, 'Incidents'), ' / ', id),
    head,
    actions,
    progress,
    h('div', { class: 'grid-2' }, timing, impact),
    chartsCard,
    h('div', { class: 'grid-2' }, rca, evidence),
    checklist,
    timeline,
    postmortem,
  );

  /** @type {any} */
  let incident = null;
  /** @type {any} */
  let modelInfo = null;
  /** @type {ReturnType<typeof modelCharts> | null} */
  let charts = null;
  let postmortemFor = '';
  let blobUrl = '';
  page.onLeave(() => {
    charts?.destroy();
    if (blobUrl) URL.revokeObjectURL(blobUrl);
  });

  const refreshSoon = () => void refresh().catch((err) => page.flash(errorText(err)));

  async function refresh() {
    const answer = await api(path);
    if (!page.alive()) return;
    incident = answer.incident;
    if (!modelInfo) modelInfo = await api(`/models/${encodeURIComponent(incident.model)}`).catch(() => null);
    renderHead();
    renderActions();
    renderTiming();
    renderImpact();
    renderEvidence();
    renderTimeline();
    await renderChecklist();
    await renderCharts();
    // The postmortem draft follows the incident's state: fetch it again when that changes.
    const stamp = `${incident.status}|${incident.updatedAt ?? ''}|${(incident.timeline ?? []).length}`;
    if (stamp !== postmortemFor) {
      postmortemFor = stamp;
      void loadPostmortem();
    }
  }

  function renderHead() {
    // Monitor titles carry their whole evidence line: the heading keeps its first clause.
    const title = String(incident.title ?? incident.id);
    const short = shortTitle(title);
    replace(
      head,
      h('h1', { class: 'incident-title', title }, short),
      badge(incident.severity),
      h('span', { dataset: { testid: 'incident-status' } }, badge(incident.status)),
      h('span', { class: 'muted' }, h('code', null, incident.id), ' · ', h('a', { href: `#/models/${encodeURIComponent(incident.model)}` }, incident.model), incident.version ? `@${incident.version}` : '', ` · ${incident.family ?? ''} · source: ${incident.source ?? '—'}`),
      short !== title ? h('p', { class: 'incident-title-detail muted small' }, title) : null,
    );
  }

  function renderActions() {
    if (!can('operator')) {
      replace(actions);
      return;
    }
    const s = incident.status;
    const step = (/** @type {string} */ action, /** @type {string} */ label, /** @type {string} */ text) =>
      confirmButton({
        label,
        action,
        title: `${label} ${incident.id}?`,
        text,
        run: () => api(`${path}/${action}`, { method: 'POST', body: { reason: `${action} from the dashboard` } }),
        onDone: () => {
          page.flash(`${incident.id}: ${action} done.`, 'ok');
          refreshSoon();
        },
      });
    replace(
      actions,
      s === 'open' ? step('acknowledge', 'Acknowledge', 'Records that you are on it (MTTA stops here).') : null,
      !closed.includes(s)
        ? h(
            'button',
            {
              type: 'button',
              class: 'btn btn-danger-outline',
              dataset: { action: 'rollback' },
              onclick: () =>
                openRollbackDialog({
                  model: incident.model,
                  versions: modelInfo?.versions,
                  stableVersion: modelInfo?.model?.stableVersion,
                  reason: `rollback for ${incident.id}`,
                  incidentId: incident.id,
                  onDone: refreshSoon,
                }),
            },
            `Roll back ${incident.model}…`,
          )
        : null,
      !closed.includes(s) ? step('resolve', 'Resolve', 'Marks the incident resolved: the fault is gone for users. The postmortem draft is completed from the timeline.') : null,
      s === 'open' || s === 'acknowledged' ? h('button', { type: 'button', class: 'btn btn-ghost', dataset: { action: 'decline' }, onclick: openDeclineDialog }, 'False alarm…') : null,
      h('button', { type: 'button', class: 'btn btn-ghost', dataset: { action: 'note' }, onclick: openNoteDialog }, 'Add note…'),
    );
  }

  function openDeclineDialog() {
    const reason = /** @type {HTMLTextAreaElement} */ (h('textarea', { name: 'reason', rows: 3, placeholder: 'Why this is not a real incident (kept in the timeline and the audit log)' }));
    openDialog({
      title: `Decline ${incident.id} as a false alarm?`,
      confirmLabel: 'Decline',
      danger: true,
      testId: 'decline-dialog',
      body: [h('p', null, 'Declined incidents count as false alarms when monitors are tuned.'), field('Reason', reason)],
      async onConfirm() {
        await api(`${path}/decline`, { method: 'POST', body: { reason: reason.value } });
        return null;
      },
      onClose: (ran) => ran && refreshSoon(),
    });
  }

  function openNoteDialog() {
    const text = /** @type {HTMLTextAreaElement} */ (h('textarea', { name: 'text', rows: 5, required: true, placeholder: 'What you saw or did' }));
    openDialog({
      title: `Note on ${incident.id}`,
      confirmLabel: 'Add note',
      testId: 'note-dialog',
      body: field('Note', text),
      async onConfirm() {
        await api(`${path}/notes`, { method: 'POST', body: { text: text.value } });
        return null;
      },
      onClose: (ran) => ran && refreshSoon(),
    });
  }

  function renderTiming() {
    const at = (/** @type {string} */ key) => (incident[key] ? new Date(incident[key]).getTime() : undefined);
    const detected = at('detectedAt');
    const since = (/** @type {number | undefined} */ a, /** @type {number | undefined} */ b) => (a !== undefined && b !== undefined ? fmtDuration(b - a) : '—');
    const end = at('resolvedAt') ?? at('declinedAt');
    const steps = incident.status === 'declined' ? ['open', 'declined'] : lifecycle;
    replace(
      progress,
      h(
        'ol',
        { class: 'stepper' },
        steps.map((s) => {
          const t = incident[stampOf[s]];
          return h('li', { class: `${t ? 'done' : ''} ${incident.status === s ? 'current' : ''}` }, h('span', { class: 'step-name' }, s === 'open' ? 'detected' : s), t ? timeEl(t) : h('span', { class: 'muted' }, '—'));
        }),
      ),
    );
    replace(
      timing,
      h('h2', null, 'Timing'),
      h(
        'dl',
        { class: 'kv metrics' },
        h('dt', null, 'Onset'),
        h('dd', null, timeEl(incident.onsetAt)),
        h('dt', { title: 'mean time to detect: onset → detection' }, 'Time to detect'),
        h('dd', null, since(at('onsetAt'), detected)),
        h('dt', { title: 'detection → acknowledgement' }, 'Time to acknowledge'),
        h('dd', null, since(detected, at('acknowledgedAt'))),
        h('dt', { title: 'detection → containment' }, 'Time to contain'),
        h('dd', null, since(detected, at('containedAt'))),
        h('dt', { title: 'detection → resolution' }, 'Time to resolve'),
        h('dd', null, since(detected, end)),
        incident.declineReason ? [h('dt', null, 'Declined because'), h('dd', null, incident.declineReason)] : null,
      ),
    );
  }

  function renderImpact() {
    const i = incident.impact ?? {};
    const sig = JSON.stringify([i, incident.sources, incident.rootCause, incident.runbook]);
    if (sig === rendered.impact) return;
    rendered.impact = sig;
    replace(
      impact,
      h('h2', null, 'Impact'),
      h(
        'dl',
        { class: 'kv metrics' },
        h('dt', null, 'Traffic share'),
        h('dd', null, i.trafficShare !== undefined ? fmtPct(i.trafficShare > 1 ? i.trafficShare / 100 : i.trafficShare, 0) : '—'),
        h('dt', null, 'Requests'),
        h('dd', null, i.requests ?? '—'),
        h('dt', null, 'Failed requests'),
        h('dd', null, i.failedRequests ?? '—'),
        h('dt', null, 'Clients'),
        h('dd', null, i.clients ?? '—'),
        h('dt', null, 'Since'),
        h('dd', null, timeEl(i.since)),
        incident.rootCause ? [h('dt', null, 'Root cause'), h('dd', null, `${incident.rootCause.category}: ${incident.rootCause.summary}`)] : null,
        incident.runbook ? [h('dt', null, 'Runbook'), h('dd', null, `${incident.runbook.id} v${incident.runbook.version}`)] : null,
      ),
      Object.keys(incident.sources ?? {}).length
        ? h(
            'details',
            null,
            h('summary', null, `Signals (${Object.keys(incident.sources).length})`),
            h('ul', { class: 'plain' }, Object.entries(incident.sources).map(([k, s]) => h('li', null, h('code', null, k), ` ×${/** @type {any} */ (s).count}, last `, timeEl(/** @type {any} */ (s).lastAt)))),
          )
        : null,
    );
  }

  async function renderCharts() {
    const detected = new Date(incident.detectedAt).getTime();
    const onset = incident.onsetAt ? new Date(incident.onsetAt).getTime() : detected;
    const from = Math.min(onset, detected) - BEFORE_ONSET_MS;
    const to = Math.min(Date.now(), detected + AFTER_DETECTION_MS);
    const q = new URLSearchParams({ from: new Date(from).toISOString(), to: new Date(Math.max(to, from + 10_000)).toISOString() });
    if (incident.version) q.set('version', incident.version);
    const metrics = await apiOptional(`/models/${encodeURIComponent(incident.model)}/metrics?${q}`).catch(() => undefined);
    if (!page.alive()) return;
    if (!charts) {
      charts = modelCharts(colorMap((modelInfo?.versions ?? []).map((/** @type {any} */ v) => v.version)), { height: 170 });
      chartsCard.append(h('p', { class: 'muted small' }, `${incident.version ? `Version ${incident.version}` : 'All versions'}, from two minutes before the onset to three minutes after detection. Dashed lines: onset, detection, containment, resolution.`), charts.el);
    }
    /** @type {import('../charts.js').Marker[]} */
    const markers = [{ at: detected / 1000, label: 'detected', color: '#dc2626' }];
    if (incident.onsetAt && Math.abs(onset - detected) > 500) markers.unshift({ at: onset / 1000, label: 'onset', color: '#d97706' });
    for (const [key, label] of [['containedAt', 'contained'], ['resolvedAt', 'resolved']]) {
      if (incident[key]) markers.push({ at: new Date(incident[key]).getTime() / 1000, label, color: '#16a34a' });
    }
    // Only what falls inside the window: a resolution hours later must not stretch the x axis.
    charts.setMarkers(markers.filter((m) => m.at * 1000 >= from && m.at * 1000 <= Math.max(to, detected) + 1000));
    charts.update(metrics ?? { available: false, reason: 'no metrics endpoint on this server' });
  }

  function renderEvidence() {
    const items = incident.evidence ?? [];
    const sig = JSON.stringify([items, incident.evidenceCount]);
    if (sig === rendered.evidence) return;
    rendered.evidence = sig;
    replace(
      evidence,
      h('h2', null, `Evidence${incident.evidenceCount > items.length ? ` (newest ${items.length} of ${incident.evidenceCount})` : ''}`),
      items.length === 0
        ? h('p', { class: 'muted' }, 'No evidence recorded.')
        : h(
            'table',
            { class: 'table compact' },
            h('thead', null, h('tr', null, ['Test', 'Observed', 'Baseline', 'Statistic', 'Threshold', 'p', 'n', 'Window'].map((c) => h('th', null, c)))),
            h(
              'tbody',
              null,
              items.flatMap((/** @type {any} */ e) => [
                h(
                  'tr',
                  { class: e.detail ? 'has-detail' : '' },
                  h('td', null, e.test),
                  h('td', { class: 'num' }, num(e.observed)),
                  h('td', { class: 'num' }, num(e.baseline)),
                  h('td', { class: 'num' }, num(e.statistic)),
                  h('td', { class: 'num' }, num(e.threshold ?? e.bound)),
                  h('td', { class: 'num' }, num(e.pValue)),
                  h('td', { class: 'num' }, e.sampleSize !== undefined ? `${e.sampleSize}${e.baselineSampleSize !== undefined ? ` vs ${e.baselineSampleSize}` : ''}` : '—'),
                  h('td', { class: 'small' }, e.window ? windowText(e.window) : '—'),
                ),
                e.detail ? h('tr', { class: 'detail-row' }, h('td', { colspan: 8, class: 'muted small' }, e.detail)) : null,
              ]),
            ),
          ),
    );
  }

  /** The checklist: part of the incident's detail, or (older servers) its own endpoint. */
  async function loadChecklist() {
    if (Array.isArray(incident.checklist)) return { items: incident.checklist, runbook: incident.runbook };
    const answer = await apiOptional(`${path}/checklist`).catch(() => undefined);
    return answer ? { items: answer.checklist, runbook: answer.runbook ?? incident.runbook } : { items: undefined, runbook: incident.runbook };
  }

  async function renderChecklist() {
    const { items, runbook } = await loadChecklist();
    if (!page.alive()) return;
    const rb = runbook ? ` · ${runbook.id ?? ''}${runbook.version !== undefined ? ` v${runbook.version}` : ''}` : '';
    const done = Array.isArray(items) ? items.filter((c) => c.status === 'done' || c.status === 'skipped').length : 0;
    const sig = JSON.stringify([items, rb]);
    if (sig === rendered.checklist) return;
    rendered.checklist = sig;
    compliance.hidden = !Array.isArray(items);
    replace(
      checklistBody,
      h('div', { class: 'card-head' }, h('h2', null, `Runbook checklist${rb}`), Array.isArray(items) && items.length ? h('span', { class: 'muted small' }, `${done} of ${items.length} steps done`) : null),
      !Array.isArray(items)
        ? h('p', { class: 'muted' }, 'No runbook checklist for this incident.')
        : h(
            'table',
            { class: 'table compact checklist' },
            h('thead', null, h('tr', null, ['', 'Step', 'Kind', 'Owner', 'Due', 'Completed', 'By', 'Evidence', ''].map((c) => h('th', null, c)))),
            h(
              'tbody',
              null,
              items.flatMap((/** @type {any} */ c, /** @type {number} */ i) => {
                const open = c.status !== 'done' && c.status !== 'skipped';
                // A heading row where the runbook's section changes (SOP step 1, 2, ...).
                const heading = c.section && c.section !== items[i - 1]?.section ? h('tr', { class: 'section-row' }, h('td', { colspan: 9 }, c.section)) : null;
                const overdue = c.status === 'overdue' || (open && c.dueAt && new Date(c.dueAt).getTime() < Date.now());
                return [heading, h(
                  'tr',
                  { class: `check-${c.status}${overdue ? ' overdue' : ''}`, dataset: { step: c.id, status: c.status } },
                  h('td', { class: 'check-icon', title: c.status }, c.status === 'done' ? '✔' : c.status === 'skipped' ? '–' : c.status === 'failed' ? '✖' : overdue ? '!' : '○'),
                  h('td', null, c.title, h('div', { class: 'muted small' }, c.id), c.deviation ? h('div', { class: 'small bad' }, `deviation: ${c.deviation}`) : null, c.skipReason ? h('div', { class: 'small muted' }, `skipped: ${c.skipReason}`) : null),
                  h('td', null, badge(c.kind ?? '—', 'kind')),
                  h('td', null, ownerText(c.owner)),
                  h('td', { class: overdue ? 'bad' : open ? '' : 'muted' }, timeEl(c.dueAt)),
                  h('td', null, timeEl(c.completedAt)),
                  h('td', null, c.by ?? '—'),
                  h('td', { class: 'small' }, c.evidence === undefined || c.evidence === null ? '—' : jsonView(c.evidence)),
                  h('td', { class: 'row-actions' }, open && c.kind === 'manual' && can('operator') && can(ownerRole(c.owner)) ? [h('button', { type: 'button', class: 'btn', dataset: { action: 'complete-step' }, onclick: () => openCompleteDialog(c) }, 'Complete…'), h('button', { type: 'button', class: 'btn btn-ghost', dataset: { action: 'skip-step' }, onclick: () => openSkipDialog(c) }, 'Skip…')] : null),
                )];
              }),
            ),
          ),
    );
    if (compliance.open) void loadCompliance();
  }

  async function loadCompliance() {
    if (!(/** @type {HTMLDetailsElement} */ (compliance).open)) return;
    const box = /** @type {HTMLElement} */ (compliance.querySelector('.markdown'));
    try {
      const md = await api(`${path}/compliance`, { accept: 'text/markdown' });
      box.innerHTML = renderMarkdown(typeof md === 'string' ? md : JSON.stringify(md, null, 2)); // safe: escapes first
    } catch (err) {
      replace(box, h('p', { class: 'error-text' }, errorText(err)));
    }
  }

  /** @param {any} step */
  function openCompleteDialog(step) {
    const requires = /** @type {string[]} */ (step.requires ?? []);
    const note = /** @type {HTMLTextAreaElement} */ (h('textarea', { name: 'note', rows: 3, placeholder: 'what was done' }));
    const link = /** @type {HTMLInputElement} */ (h('input', { name: 'link', type: 'url', placeholder: 'https://…' }));
    const answer = /** @type {HTMLSelectElement} */ (h('select', { name: 'answer' }, h('option', { value: '' }, '—'), h('option', { value: 'yes' }, 'yes'), h('option', { value: 'no' }, 'no')));
    const deviation = /** @type {HTMLInputElement} */ (h('input', { name: 'deviation', type: 'text', placeholder: 'only if you did it differently from the runbook' }));
    const wants = (/** @type {string} */ k) => requires.length === 0 || requires.includes(k);
    openDialog({
      title: `Complete: ${step.title}`,
      confirmLabel: 'Mark done',
      testId: 'complete-step-dialog',
      body: [
        requires.length ? h('p', { class: 'muted small' }, `Evidence needed (any one): ${requires.join(', ')}`) : null,
        wants('note') ? field('Note', note) : null,
        wants('link') ? field('Link', link) : null,
        wants('yes_no') ? field('Answer', answer) : null,
        field('Deviation', deviation),
      ],
      async onConfirm() {
        /** @type {Record<string, string>} */
        const evidence = {};
        if (note.value.trim()) evidence.note = note.value.trim();
        if (link.value.trim()) evidence.link = link.value.trim();
        if (answer.value) evidence.answer = answer.value;
        /** @type {Record<string, any>} */
        const body = {};
        if (Object.keys(evidence).length) body.evidence = evidence;
        if (deviation.value.trim()) body.deviation = deviation.value.trim();
        await api(`${path}/checklist/${encodeURIComponent(step.id)}/complete`, { method: 'POST', body });
        return null;
      },
      onClose: (ran) => ran && refreshSoon(),
    });
  }

  /** @param {any} step */
  function openSkipDialog(step) {
    const reason = /** @type {HTMLInputElement} */ (h('input', { name: 'reason', type: 'text', placeholder: 'why this step is not needed' }));
    openDialog({
      title: `Skip: ${step.title}`,
      confirmLabel: 'Skip step',
      testId: 'skip-step-dialog',
      body: field('Reason', reason),
      async onConfirm() {
        await api(`${path}/checklist/${encodeURIComponent(step.id)}/skip`, { method: 'POST', body: { reason: reason.value } });
        return null;
      },
      onClose: (ran) => ran && refreshSoon(),
    });
  }

  function renderTimeline() {
    const events = incident.timeline ?? [];
    const sig = `${events.length}|${events[events.length - 1]?.id ?? ''}`;
    if (sig === rendered.timeline) return;
    rendered.timeline = sig;
    replace(
      timeline,
      h('h2', null, 'Timeline'),
      events.length === 0
        ? h('p', { class: 'muted' }, 'No events.')
        : h(
            'ol',
            { class: 'timeline' },
            events.map((/** @type {any} */ e) =>
              h(
                'li',
                { class: `tl-${e.kind}`, dataset: { kind: e.kind } },
                h('div', { class: 'tl-time' }, timeEl(e.at)),
                h('div', { class: 'tl-body' }, badge(e.kind, 'kind'), ' ', h('span', null, e.message), h('span', { class: 'muted small' }, ` — ${e.actor}`), e.data !== undefined ? h('details', null, h('summary', null, 'data'), jsonView(e.data)) : null),
              ),
            ),
          ),
    );
  }

  async function loadRca() {
    try {
      const answer = await apiOptional(`${path}/rca`);
      if (!page.alive()) return;
      const hyps = answer?.hypotheses;
      replace(
        rca,
        h('div', { class: 'card-head' }, h('h2', null, 'Root-cause hypotheses'), h('button', { type: 'button', class: 'btn btn-small btn-ghost', onclick: () => void loadRca() }, 'Re-run')),
        answer === undefined
          ? h('p', { class: 'muted' }, 'Root-cause analysis is not available on this server.')
          : !hyps?.length
            ? h('p', { class: 'muted' }, 'No hypothesis yet: not enough traces or changes to point at a cause.')
            : h(
                'ol',
                { class: 'hypotheses' },
                hyps.map((/** @type {any} */ hy, /** @type {number} */ i) =>
                  h(
                    'li',
                    { class: i === 0 ? 'best' : '', dataset: { category: hy.category } },
                    h('div', { class: 'hyp-head' }, badge(hy.category.replace(/_/g, ' '), 'category'), h('span', { class: 'confidence', title: 'confidence' }, h('span', { class: 'confidence-bar', style: `width:${Math.round((hy.confidence ?? 0) * 100)}%` }), h('span', { class: 'confidence-text' }, fmtPct(hy.confidence, 0)))),
                    h('p', null, hy.summary),
                    hy.evidence !== undefined ? h('details', null, h('summary', null, 'Evidence'), jsonView(hy.evidence)) : null,
                  ),
                ),
              ),
      );
    } catch (err) {
      replace(rca, h('h2', null, 'Root-cause hypotheses'), h('p', { class: 'error-text' }, errorText(err)));
    }
  }

  async function loadPostmortem() {
    let text;
    try {
      text = await api(`${path}/postmortem`, { accept: 'text/markdown' });
    } catch (err) {
      if (!page.alive()) return;
      const missing = err instanceof ApiError && err.status === 404 && err.code === 'NOT_FOUND';
      replace(postmortem, h('h2', null, 'Postmortem'), h('p', { class: missing ? 'muted' : 'error-text' }, missing ? 'Postmortems are not available on this server.' : errorText(err)));
      return;
    }
    if (!page.alive()) return;
    const md = typeof text === 'string' ? text : JSON.stringify(text, null, 2);
    const doc = h('article', { class: 'markdown' });
    doc.innerHTML = renderMarkdown(md); // safe: renderMarkdown escapes its input first
    if (blobUrl) URL.revokeObjectURL(blobUrl);
    blobUrl = URL.createObjectURL(new Blob([md], { type: 'text/markdown' }));
    const download = h('a', { class: 'btn btn-small btn-ghost', download: `${incident.id}-postmortem.md`, href: blobUrl }, 'Download .md');
    replace(postmortem, h('div', { class: 'card-head' }, h('h2', null, 'Postmortem'), h('span', { class: 'muted small' }, closed.includes(incident.status) ? 'draft from the timeline' : 'draft so far; completed when the incident is resolved'), download), doc);
  }

  await refresh();
  void loadRca();
  page.every(3000, refresh);
}

/** @param {any} v */
function num(v) {
  if (v === undefined || v === null) return '—';
  if (typeof v !== 'number') return String(v);
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) < 0.001 ? v.toExponential(2) : String(Math.round(v * 10000) / 10000);
}

/** @param {any} owner `{role, audience}` or a plain name */
function ownerText(owner) {
  if (!owner) return '—';
  if (typeof owner !== 'object') return String(owner);
  return [owner.role, owner.audience].filter(Boolean).join(' · ') || '—';
}

/** The role a step's owner needs (operator when the runbook does not say). @param {any} owner @returns {'viewer' | 'operator' | 'admin'} */
function ownerRole(owner) {
  const r = typeof owner === 'object' ? owner?.role : owner;
  return r === 'admin' || r === 'viewer' ? r : 'operator';
}

/** `05:02:43–05:02:45` (the date only when the window spans days). @param {{ from: string, to: string }} w */
function windowText(w) {
  const a = fmtTime(w.from);
  const b = fmtTime(w.to);
  return h('span', { title: `${w.from} – ${w.to}` }, a.slice(0, 10) === b.slice(0, 10) ? `${a.slice(11)}–${b.slice(11)}` : `${a} – ${b}`);
}
