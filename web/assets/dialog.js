// Modal dialogs for actions that need a confirmation. The dialog runs the action itself, so the
// server's answer (a rollback's validation result) or its error message is shown in place; it
// closes only when the user says so, and the page behind it stays as it was.
import { errorText } from './api.js';
import { h, jsonView, replace } from './dom.js';

/**
 * @param {{
 *   title: string,
 *   body: any,
 *   confirmLabel: string,
 *   danger?: boolean,
 *   onConfirm: () => Promise<Node | null | undefined | void>,
 *   onClose?: (didRun: boolean) => void,
 *   testId?: string,
 * }} options
 */
export function openDialog(options) {
  const errorBox = h('div', { class: 'dialog-error', role: 'alert', hidden: true });
  const body = h('div', { class: 'dialog-body' }, options.body);
  const cancel = h('button', { type: 'button', class: 'btn btn-ghost', dataset: { action: 'cancel' } }, 'Cancel');
  const confirm = h('button', { type: 'submit', class: `btn ${options.danger ? 'btn-danger' : 'btn-primary'}`, dataset: { action: 'confirm' } }, options.confirmLabel);
  const buttons = h('div', { class: 'dialog-buttons' }, cancel, confirm);
  const form = h('form', { method: 'dialog' }, h('h2', null, options.title), body, errorBox, buttons);
  const dialog = /** @type {HTMLDialogElement} */ (h('dialog', { class: 'dialog', dataset: { testid: options.testId ?? 'dialog' } }, form));
  let ran = false;

  const close = () => {
    dialog.close();
    dialog.remove();
    options.onClose?.(ran);
  };
  cancel.addEventListener('click', close);
  dialog.addEventListener('cancel', (e) => {
    e.preventDefault();
    if (!confirm.hasAttribute('disabled') || ran) close();
  });
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    errorBox.hidden = true;
    confirm.setAttribute('disabled', '');
    cancel.setAttribute('disabled', '');
    const label = confirm.textContent;
    confirm.textContent = 'Working…';
    try {
      const result = await options.onConfirm();
      ran = true;
      if (result) {
        replace(body, result);
        const done = h('button', { type: 'button', class: 'btn btn-primary', dataset: { action: 'close' }, onclick: close }, 'Close');
        replace(buttons, done);
        done.focus();
      } else close();
    } catch (err) {
      replace(errorBox, h('strong', null, 'The server refused: '), errorText(err), detailsOf(err));
      errorBox.hidden = false;
      confirm.removeAttribute('disabled');
      cancel.removeAttribute('disabled');
      confirm.textContent = label;
    }
  });
  document.body.append(dialog);
  dialog.showModal();
  return { close };
}

/** Extra details an error carries (validation results of a refused rollback, say). @param {any} err */
function detailsOf(err) {
  const d = err?.details;
  if (d === undefined || d === null || (Array.isArray(d) && d.length === 0)) return null;
  // Validation errors repeat their lines in the message; show details only when they add something.
  if (Array.isArray(d) && d.every((x) => typeof x === 'string' && String(err.message).includes(x))) return null;
  return h('div', { class: 'dialog-details' }, jsonView(d));
}

/**
 * A labelled form field.
 * @param {string} label
 * @param {HTMLElement} input
 * @param {string} [hint]
 */
export const field = (label, input, hint) => h('label', { class: 'field' }, h('span', { class: 'field-label' }, label), input, hint ? h('span', { class: 'field-hint' }, hint) : null);
