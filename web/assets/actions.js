// Actions shared by the model and incident pages: rollback with its confirmation dialog and
// validation result, pause/resume, isolate. Each returns after the server answered; errors are
// shown where the action was started (dialog or page flash).
import { api, apiOptional, ApiError } from './api.js';
import { field, openDialog } from './dialog.js';
import { badge, fmtDuration, h, jsonView } from './dom.js';

/**
 * Rollback dialog: choose the target (default: the last known stable version), give a reason,
 * confirm; while the server validates, shows its progress; then shows the answer
 * `{"rollback":{"from","to","validation":{"passed",...}}}`. A refused gate (409 with the
 * rollback's reports) is shown the same way, marked as not switched.
 * @param {{ model: string, versions?: any[], stableVersion?: string, reason?: string, incidentId?: string, onDone?: () => void }} o
 */
export function openRollbackDialog(o) {
  const candidates = (o.versions ?? []).filter((v) => v.weight === 0 && ['stable', 'validated', 'live', 'retired'].includes(v.state));
  const target = /** @type {HTMLSelectElement} */ (
    h(
      'select',
      { name: 'to' },
      h('option', { value: '' }, o.stableVersion ? `last known stable (${o.stableVersion})` : 'last known stable version'),
      candidates.filter((v) => v.version !== o.stableVersion).map((v) => h('option', { value: v.version }, `${v.version} (${v.state})`)),
    )
  );
  const reason = /** @type {HTMLInputElement} */ (h('input', { name: 'reason', type: 'text', value: o.reason ?? '', placeholder: 'why (kept in the audit log)' }));
  const progress = h('p', { class: 'rollback-progress muted', dataset: { testid: 'rollback-progress' }, hidden: true });
  const modelPath = `/models/${encodeURIComponent(o.model)}`;
  openDialog({
    title: `Roll back ${o.model}`,
    testId: 'rollback-dialog',
    confirmLabel: 'Validate and roll back',
    danger: true,
    body: [
      h('p', null, 'The target version is validated first (golden set in staging, or a smoke check). Traffic moves to it in one atomic route change only if validation passes; the rollback is written to the audit log.'),
      field('Target version', target),
      field('Reason', reason),
      progress,
    ],
    async onConfirm() {
      /** @type {Record<string, string>} */
      const body = {};
      if (target.value) body.to = target.value;
      if (reason.value.trim()) body.reason = reason.value.trim();
      if (o.incidentId) body.incidentId = o.incidentId;
      progress.hidden = false;
      progress.textContent = 'Starting…';
      // The validation can take seconds: show what the server is doing meanwhile.
      const timer = setInterval(async () => {
        const p = await apiOptional(`${modelPath}/rollback/progress`).catch(() => undefined);
        if (p?.progress) progress.textContent = progressText(p.progress);
      }, 400);
      try {
        const answer = await api(`${modelPath}/rollback`, { method: 'POST', body });
        return rollbackResult(answer.rollback ?? answer);
      } catch (err) {
        // A failed validation gate carries the rollback with its reports: show them as the result.
        const refused = err instanceof ApiError ? err.details?.rollback : undefined;
        if (refused) return rollbackResult(refused, err.message);
        throw err;
      } finally {
        clearInterval(timer);
      }
    },
    onClose: (ran) => ran && o.onDone?.(),
  });
}

/** @param {any} p */
function progressText(p) {
  const of = p.candidates?.length > 1 ? ` (candidate ${p.candidateIndex + 1} of ${p.candidates.length})` : '';
  const count = p.total ? ` ${p.done}/${p.total}` : '';
  return `${p.phase ?? 'working'}${p.version ? ` ${p.version}` : ''}${of}${count}…`;
}

/**
 * @param {any} r a rollback view
 * @param {string} [refusedMessage] set when the server refused (traffic did not move)
 */
export function rollbackResult(r, refusedMessage) {
  const v = r?.validation ?? {};
  const { passed, summary, version, kind, gates, ...rest } = v;
  const switched = !refusedMessage && r?.to;
  return h(
    'div',
    { class: `rollback-result ${switched ? 'ok' : 'refused'}`, dataset: { testid: 'rollback-result', status: r?.status ?? '' } },
    h(
      'p',
      { class: 'rollback-summary' },
      switched ? h('strong', null, `Rolled back ${r.from ?? '?'} → ${r.to}`) : h('strong', null, `Not rolled back: traffic stays on ${r?.from ?? 'the current version'}`),
      r?.durationMs !== undefined ? h('span', { class: 'muted small' }, ` in ${fmtDuration(r.durationMs)}`) : null,
    ),
    refusedMessage ? h('p', { class: 'error-text' }, refusedMessage) : null,
    h('p', null, 'Validation', version ? ` of ${version}` : '', kind ? ` (${kind})` : '', ': ', passed === true ? badge('passed', 'ok') : passed === false ? badge('failed', 'bad') : badge('not reported', 'neutral')),
    summary ? h('p', { class: 'small' }, summary) : null,
    gates ? h('div', { class: 'validation-details' }, gateTable(gates)) : null,
    h('details', null, h('summary', null, 'Validation report'), jsonView(rest)),
    r?.validations?.length > 1 ? h('details', null, h('summary', null, `All ${r.validations.length} candidates tried`), jsonView(r.validations.map((/** @type {any} */ x) => ({ version: x.version, passed: x.passed, summary: x.summary })))) : null,
  );
}

/** @param {Record<string, any>} gates */
function gateTable(gates) {
  return h(
    'table',
    { class: 'table compact' },
    h('thead', null, h('tr', null, ['Gate', 'Measured', 'Threshold', ''].map((c) => h('th', null, c)))),
    h(
      'tbody',
      null,
      Object.entries(gates).map(([name, g]) => h('tr', null, h('td', null, name), h('td', { class: 'num' }, g?.value ?? '—'), h('td', { class: 'num' }, g?.threshold ?? '—'), h('td', null, g?.passed ? badge('passed', 'ok') : badge('failed', 'bad')))),
    ),
  );
}

/**
 * A button that runs an action after a plain confirmation, then calls onDone.
 * @param {{ label: string, title: string, text: string, danger?: boolean, run: () => Promise<any>, onDone?: () => void, action: string, result?: (answer: any) => Node | null }} o
 */
export function confirmButton(o) {
  return h(
    'button',
    {
      type: 'button',
      class: `btn ${o.danger ? 'btn-danger-outline' : ''}`,
      dataset: { action: o.action },
      onclick: () =>
        openDialog({
          title: o.title,
          body: h('p', null, o.text),
          confirmLabel: o.label,
          danger: o.danger,
          testId: `${o.action}-dialog`,
          async onConfirm() {
            const answer = await o.run();
            return o.result ? o.result(answer) : null;
          },
          onClose: (ran) => ran && o.onDone?.(),
        }),
    },
    o.label,
  );
}
