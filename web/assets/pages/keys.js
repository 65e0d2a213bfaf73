// API keys (admin only): list, create (the secret is shown once), rotate, revoke.
import { api, errorText } from '../api.js';
import { confirmButton } from '../actions.js';
import { field, openDialog } from '../dialog.js';
import { badge, h, replace, timeEl } from '../dom.js';
import { currentKey } from '../session.js';

/** @param {HTMLElement} root @param {any} _route @param {import('../app.js').PageContext} page */
export async function mount(root, _route, page) {
  const tbody = h('tbody');
  root.append(
    h('div', { class: 'page-head' }, h('h1', null, 'API keys'), h('button', { type: 'button', class: 'btn btn-primary', dataset: { action: 'create-key' }, onclick: openCreate }, 'New key…')),
    h('section', { class: 'card' }, h('table', { class: 'table', dataset: { testid: 'keys' } }, h('thead', null, h('tr', null, ['Name', 'Role', 'Prefix', 'Created', 'Expires', 'Last used', 'Status', ''].map((c) => h('th', null, c)))), tbody)),
  );

  /** @param {string} title @param {any} answer */
  const secretView = (title, answer) =>
    h(
      'div',
      { class: 'secret-box' },
      h('p', null, title),
      h('p', null, h('strong', null, 'Copy the secret now: it is not shown again.')),
      h('input', { type: 'text', readonly: true, class: 'mono', value: answer.secret, dataset: { testid: 'secret' }, onfocus: (/** @type {FocusEvent} */ e) => /** @type {HTMLInputElement} */ (e.target).select() }),
    );

  function openCreate() {
    const name = /** @type {HTMLInputElement} */ (h('input', { name: 'name', type: 'text', required: true, maxlength: 64 }));
    const role = /** @type {HTMLSelectElement} */ (h('select', { name: 'role' }, ['viewer', 'operator', 'admin', 'client'].map((r) => h('option', { value: r }, r))));
    const days = /** @type {HTMLInputElement} */ (h('input', { name: 'expiresInDays', type: 'number', min: 1, placeholder: 'never' }));
    openDialog({
      title: 'New API key',
      confirmLabel: 'Create key',
      testId: 'create-key-dialog',
      body: [field('Name', name), field('Role', role, 'client: call models only · viewer: read · operator: act on incidents and routes · admin: everything'), field('Expires in (days)', days)],
      async onConfirm() {
        /** @type {Record<string, any>} */
        const body = { name: name.value.trim(), role: role.value };
        if (days.value) body.expiresInDays = Number(days.value);
        const answer = await api('/keys', { method: 'POST', body });
        return secretView(`Key "${answer.key.name}" (${answer.key.role}) created.`, answer);
      },
      onClose: (ran) => ran && void load(),
    });
  }

  async function load() {
    const { keys } = await api('/keys');
    if (!page.alive()) return;
    const me = currentKey();
    replace(
      tbody,
      keys.map((/** @type {any} */ k) => {
        const status = k.revokedAt ? 'revoked' : k.expiresAt && new Date(k.expiresAt).getTime() < Date.now() ? 'expired' : 'active';
        return h(
          'tr',
          { dataset: { key: k.id } },
          h('td', null, k.name, me?.name === k.name ? h('span', { class: 'muted small' }, ' (you)') : null),
          h('td', null, badge(k.role, `role-${k.role}`)),
          h('td', { class: 'mono' }, `${k.prefix}…`),
          h('td', null, timeEl(k.createdAt)),
          h('td', null, timeEl(k.expiresAt)),
          h('td', null, timeEl(k.lastUsedAt)),
          h('td', null, badge(status)),
          h(
            'td',
            { class: 'row-actions' },
            status === 'active'
              ? [
                  confirmButton({
                    label: 'Rotate',
                    action: 'rotate',
                    title: `Rotate "${k.name}"?`,
                    text: 'Issues a new secret for this key; the old one stops working.',
                    run: () => api(`/keys/${encodeURIComponent(k.id)}/rotate`, { method: 'POST', body: {} }),
                    result: (answer) => secretView(`Key "${k.name}" rotated.`, answer),
                    onDone: () => void load().catch((err) => page.flash(errorText(err))),
                  }),
                  confirmButton({
                    label: 'Revoke',
                    action: 'revoke',
                    danger: true,
                    title: `Revoke "${k.name}"?`,
                    text: 'Every request with this key is refused from now on. This cannot be undone.',
                    run: () => api(`/keys/${encodeURIComponent(k.id)}`, { method: 'DELETE', body: {} }),
                    onDone: () => void load().catch((err) => page.flash(errorText(err))),
                  }),
                ]
              : null,
          ),
        );
      }),
    );
  }

  await load();
}
