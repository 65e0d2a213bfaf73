// The dashboard shell: sign-in state, navigation bar and a hash router (`#/models/support-bot`,
// `#/incidents?status=open`). Each page module exports `mount(root, route, page)`; the router
// gives it a PageContext whose timers and cleanups end when the user navigates away.
import { ApiError, errorText, setUnauthorizedHandler } from './api.js';
import { h, replace } from './dom.js';
import { can, currentKey, resume, setLoginNotice, signOut } from './session.js';

/**
 * @typedef {{ path: string, params: Record<string, string>, query: URLSearchParams }} Route
 * @typedef {{
 *   every(ms: number, fn: () => Promise<void> | void): void,
 *   onLeave(fn: () => void): void,
 *   flash(message: string, kind?: 'error' | 'ok' | 'info'): void,
 *   clearFlash(): void,
 *   navigate(hash: string): void,
 *   alive(): boolean,
 * }} PageContext
 */

/** @type {Array<{ pattern: RegExp, keys: string[], load: () => Promise<any>, role?: 'viewer' | 'operator' | 'admin', nav?: string }>} */
const routes = [
  { pattern: /^\/?$/, keys: [], load: () => import('./pages/overview.js'), nav: 'overview' },
  { pattern: /^\/login$/, keys: [], load: () => import('./pages/login.js') },
  { pattern: /^\/models\/([^/]+)$/, keys: ['name'], load: () => import('./pages/model.js'), nav: 'overview' },
  { pattern: /^\/incidents$/, keys: [], load: () => import('./pages/incidents.js'), nav: 'incidents' },
  { pattern: /^\/incidents\/([^/]+)$/, keys: ['id'], load: () => import('./pages/incident.js'), nav: 'incidents' },
  { pattern: /^\/audit$/, keys: [], load: () => import('./pages/audit.js'), nav: 'audit' },
  { pattern: /^\/keys$/, keys: [], load: () => import('./pages/keys.js'), role: 'admin', nav: 'keys' },
];

const main = /** @type {HTMLElement} */ (document.getElementById('main'));
const topbar = /** @type {HTMLElement} */ (document.getElementById('topbar'));
const nav = /** @type {HTMLElement} */ (document.getElementById('nav'));
const whoami = /** @type {HTMLElement} */ (document.getElementById('whoami'));

/** Cleanups of the page on screen. */
let leaving = /** @type {Array<() => void>} */ ([]);
let generation = 0;
/** @param {string} hash */
function navigate(hash) {
  if (location.hash === hash) void render();
  else location.hash = hash;
}

/** @returns {Route & { def?: typeof routes[number] }} */
function parseHash() {
  const raw = location.hash.replace(/^#/, '') || '/';
  const [pathPart, queryPart] = raw.split('?');
  const path = pathPart || '/';
  for (const def of routes) {
    const m = def.pattern.exec(path);
    if (m) {
      /** @type {Record<string, string>} */
      const params = {};
      def.keys.forEach((k, i) => {
        try {
          params[k] = decodeURIComponent(m[i + 1]);
        } catch (_e) {
          params[k] = m[i + 1]; // a malformed escape: use it as written
        }
      });
      return { path, params, query: new URLSearchParams(queryPart ?? ''), def };
    }
  }
  return { path, params: {}, query: new URLSearchParams(queryPart ?? '') };
}

function renderShell(/** @type {string | undefined} */ active) {
  const key = currentKey();
  topbar.hidden = !key;
  if (!key) return;
  const link = (/** @type {string} */ id, /** @type {string} */ label, /** @type {string} */ href) =>
    h('a', { href, class: active === id ? 'active' : undefined, 'aria-current': active === id ? 'page' : undefined }, label);
  replace(nav, link('overview', 'Overview', '#/'), link('incidents', 'Incidents', '#/incidents'), link('audit', 'Audit log', '#/audit'), can('admin') ? link('keys', 'API keys', '#/keys') : null);
  replace(
    whoami,
    h('span', { class: 'key-name', title: key.prefix ? `key ${key.prefix}…` : undefined }, key.name),
    h('span', { class: `badge badge-role-${key.role}`, dataset: { role: key.role } }, key.role),
    h(
      'button',
      {
        class: 'btn btn-small btn-ghost',
        type: 'button',
        onclick: () => {
          signOut();
          navigate('#/login');
        },
      },
      'Sign out',
    ),
  );
}

async function render() {
  const gen = ++generation;
  for (const fn of leaving.splice(0)) {
    try {
      fn();
    } catch (_e) {
      /* a page's cleanup failing must not block navigation */
    }
  }
  const route = parseHash();
  if (!currentKey() && route.path !== '/login') {
    location.replace('#/login');
    return;
  }
  if (currentKey() && route.path === '/login') {
    location.replace('#/');
    return;
  }
  renderShell(route.def?.nav);
  const flashBox = h('div', { class: 'flash-area', 'aria-live': 'polite' });
  const content = h('div', { class: 'page' });
  replace(main, flashBox, content);
  if (!route.def) {
    replace(content, h('h1', null, 'Not found'), h('p', null, 'There is no page at ', h('code', null, route.path), '. ', h('a', { href: '#/' }, 'Back to the overview')));
    return;
  }
  if (route.def.role && !can(route.def.role)) {
    replace(content, h('h1', null, 'Not allowed'), h('p', null, `This page needs the ${route.def.role} role.`));
    return;
  }
  /** @type {PageContext} */
  const page = {
    every(ms, fn) {
      let running = false;
      const timer = setInterval(async () => {
        if (running || gen !== generation) return;
        running = true;
        try {
          await fn();
        } catch (err) {
          if (gen === generation) page.flash(errorText(err), 'error');
        } finally {
          running = false;
        }
      }, ms);
      leaving.push(() => clearInterval(timer));
    },
    onLeave(fn) {
      leaving.push(fn);
    },
    flash(message, kind = 'error') {
      if (gen !== generation) return;
      const box = h('div', { class: `flash flash-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, h('span', null, message), h('button', { type: 'button', class: 'flash-close', 'aria-label': 'Dismiss', onclick: () => box.remove() }, '×'));
      // One message of a kind at a time: a repeated refresh error must not pile up.
      for (const old of flashBox.querySelectorAll(`.flash-${kind}`)) old.remove();
      flashBox.append(box);
    },
    clearFlash() {
      flashBox.replaceChildren();
    },
    navigate,
    alive: () => gen === generation,
  };
  try {
    const mod = await route.def.load();
    if (gen !== generation) return;
    await mod.mount(content, route, page);
  } catch (err) {
    if (gen !== generation) return;
    page.flash(errorText(err), 'error');
  }
}

setUnauthorizedHandler((err) => {
  if (!currentKey()) return;
  signOut();
  setLoginNotice(`You were signed out: ${err.message}.`);
  navigate('#/login');
});

async function start() {
  try {
    await resume();
  } catch (err) {
    setLoginNotice(err instanceof ApiError && err.status !== 0 ? err.message : errorText(err));
  }
  window.addEventListener('hashchange', () => void render());
  await render();
}

void start();
