// Who is signed in: the API key (sessionStorage, gone when the tab closes) and the name and role
// the server reports for it. Buttons for actions are shown only to roles the server would allow;
// the server still checks every call.
import { api, ApiError, forgetKey, storedKey, storeKey } from './api.js';

/** Same order as the server's roles: a key may do what its role and every lower role may. */
export const roleRank = { client: 0, viewer: 1, operator: 2, admin: 3 };

/** @typedef {{ name: string, role: keyof typeof roleRank, expiresAt?: string, prefix?: string }} KeyInfo */

/** @type {KeyInfo | null} */
let current = null;

export const currentKey = () => current;

/** @param {keyof typeof roleRank} needed */
export const can = (needed) => current !== null && (roleRank[current.role] ?? -1) >= roleRank[needed];

/**
 * Asks the server who a key is. Throws ApiError with a message fit for the login page.
 * @param {string} key
 * @returns {Promise<KeyInfo>}
 */
export async function whoIs(key) {
  let answer;
  try {
    answer = await api('/keys/me', { key, quiet401: true });
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) {
      throw new ApiError(401, err.code, `This key was not accepted: ${err.message}.`);
    }
    if (!(err instanceof ApiError) || err.status !== 404) throw err;
    // A server without /keys/me: the key works if it may read models; assume the lowest role
    // that can, so no action is offered that the server might refuse.
    await api('/models', { key, quiet401: true }).catch((e) => {
      if (e instanceof ApiError && e.status === 401) throw new ApiError(401, e.code, `This key was not accepted: ${e.message}.`);
      throw e;
    });
    return { name: 'unknown key', role: 'viewer' };
  }
  const info = /** @type {KeyInfo} */ (answer.key);
  if (!info || !(info.role in roleRank)) throw new ApiError(500, 'BAD_ANSWER', 'the server did not say which role this key has');
  if (info.role === 'client') {
    throw new ApiError(403, 'FORBIDDEN', `The key "${info.name}" has the client role, which may only call models. The dashboard needs a viewer, operator or admin key.`);
  }
  return info;
}

/** @param {string} key */
export async function signIn(key) {
  const info = await whoIs(key);
  storeKey(key);
  current = info;
  return info;
}

/** Restores the session of this tab, if its key still works. */
export async function resume() {
  const key = storedKey();
  if (!key) return null;
  try {
    current = await whoIs(key);
    return current;
  } catch (err) {
    if (err instanceof ApiError && (err.status === 401 || err.status === 403)) forgetKey();
    throw err;
  }
}

export function signOut() {
  forgetKey();
  current = null;
}

/** Why the user is on the login page (signed out by the server, key expired), shown once. */
let loginNotice = '';
/** @param {string} text */
export const setLoginNotice = (text) => {
  loginNotice = text;
};
export const takeLoginNotice = () => {
  const n = loginNotice;
  loginNotice = '';
  return n;
};
