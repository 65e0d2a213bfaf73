// Actions shared by the model and incident pages: rollback with its confirmation dialog and
// validation result, pause/resume, isolate. Each returns after the server answered; errors are
// shown where the action was started (dialog or page flash).
import { api } from './api.js';
import { field, openDialog } from './dialog.js';
import { badge, h, jsonView } from './dom.js';

/**
 * Rollback dialog: choose the target (default: the last known stable version), give a reason,
 * confirm; then shows `{"rollback":{"from","to","validation":{"passed",...}}}` as the server
 * answered, or its error (a failed validation gate, say) with the details it sent.
 * @param {{ model: string, versions?: any[], stableVersion?: string, reason?: string, onDone?: () => void }} o
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
  openDialog({
    title: `Roll back ${o.model}`,
    testId: 'rollback-dialog',
    confirmLabel: 'Validate and roll back',
    danger: true,
    body: [
      h('p', null, 'The target version is validated first (staging, golden set). Traffic moves to it in one atomic route change only if validation passes; the change is written to the audit log.'),
      field('Target version', target),
      field('Reason', reason),
    ],
    async onConfirm() {
      /** @type {Record<string, string>} */
      const body = {};
      if (target.value) body.to = target.value;
      if (reason.value.trim()) body.reason = reason.value.trim();
      const answer = await api(`/models/${encodeURIComponent(o.model)}/rollback`, { method: 'POST', body });
      return rollbackResult(answer.rollback ?? answer);
    },
    onClose: (ran) => ran && o.onDone?.(),
  });
}

/** @param {any} r */
export function rollbackResult(r) {
  const v = r?.validation ?? {};
  const { passed, ...rest } = v;
  return h(
    'div',
    { class: 'rollback-result', dataset: { testid: 'rollback-result' } },
    h('p', { class: 'rollback-summary' }, h('strong', null, `Rolled back ${r?.from ?? '?'} → ${r?.to ?? '?'}`)),
    h('p', null, 'Validation: ', passed === true ? badge('passed', 'ok') : passed === false ? badge('failed', 'bad') : badge('not reported', 'neutral')),
    Object.keys(rest).length ? h('div', { class: 'validation-details' }, jsonView(rest)) : null,
    Object.keys(r ?? {}).filter((k) => !['from', 'to', 'validation'].includes(k)).length
      ? h('details', null, h('summary', null, 'Full answer'), jsonView(r))
      : null,
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
