// Sign in with an API key. The key is checked against the server (GET /api/v1/keys/me) before it
// is kept, so a wrong, revoked or expired key gets a clear message here rather than later.
import { errorText } from '../api.js';
import { h } from '../dom.js';
import { signIn, takeLoginNotice } from '../session.js';

/** @param {HTMLElement} root @param {any} _route @param {import('../app.js').PageContext} page */
export async function mount(root, _route, page) {
  const notice = takeLoginNotice();
  const input = /** @type {HTMLInputElement} */ (
    h('input', { id: 'api-key', name: 'apiKey', type: 'password', autocomplete: 'off', spellcheck: 'false', required: true, placeholder: 'fsk_…', 'aria-describedby': 'login-message' })
  );
  const message = h('p', { id: 'login-message', class: notice ? 'login-message error' : 'login-message', role: 'alert' }, notice);
  const button = h('button', { type: 'submit', class: 'btn btn-primary' }, 'Sign in');
  const form = h(
    'form',
    {
      class: 'login-form',
      onsubmit: async (/** @type {SubmitEvent} */ e) => {
        e.preventDefault();
        const key = input.value.trim();
        if (!key) {
          message.className = 'login-message error';
          message.textContent = 'Paste an API key first.';
          return;
        }
        button.setAttribute('disabled', '');
        message.className = 'login-message';
        message.textContent = 'Checking the key…';
        try {
          await signIn(key);
          page.navigate('#/');
        } catch (err) {
          message.className = 'login-message error';
          message.textContent = errorText(err);
          input.select();
        } finally {
          button.removeAttribute('disabled');
        }
      },
    },
    h('label', { for: 'api-key' }, 'API key'),
    input,
    button,
    message,
  );
  root.append(
    h(
      'div',
      { class: 'login' },
      h('div', { class: 'login-card' }, h('h1', null, h('img', { src: '/assets/favicon.svg', alt: '', width: 28, height: 28 }), ' Failsafe'), h('p', { class: 'muted' }, 'Incident response and rollback for AI models. Sign in with a viewer, operator or admin API key.'), form, h('p', { class: 'muted small' }, 'The key stays in this browser tab only (session storage) and is sent as a bearer token to this server’s API.')),
    ),
  );
  input.focus();
}
