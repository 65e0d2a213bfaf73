// Resolves dashboard asset requests to files under one root directory, refusing anything that
// could leave it (`..`, encoded separators, NUL, dotfiles) and anything without a known type, so
// the static handler can never serve source files, the database or configuration by accident.
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { extname, isAbsolute, relative, resolve, sep } from 'node:path';

export const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
};

/**
 * The absolute path of `requested` (a URL path relative to `root`, already percent-decoded) or
 * undefined when it is not a plain file name inside `root` with a known content type.
 */
export function safeAssetPath(root: string, requested: string): string | undefined {
  if (!requested || requested.length > 200) return undefined;
  // Backslashes and NUL never appear in our asset names; on any platform they only mean trouble.
  if (requested.includes('\0') || requested.includes('\\') || requested.includes('%')) return undefined;
  const segments = requested.split('/');
  for (const s of segments) {
    if (s === '' || s === '.' || s === '..' || s.startsWith('.')) return undefined;
    if (!/^[A-Za-z0-9._-]+$/.test(s)) return undefined;
  }
  if (!(extname(requested).toLowerCase() in contentTypes)) return undefined;
  const base = resolve(root);
  const full = resolve(base, ...segments);
  const rel = relative(base, full);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel) || !full.startsWith(base + sep)) return undefined;
  return full;
}

export interface StaticFile {
  body: Buffer;
  contentType: string;
  etag: string;
}

/**
 * Reads a file with its type and a strong ETag of its content. Files are small (the whole
 * dashboard is a few hundred KB), so they are kept in memory and re-read only when their mtime or
 * size changes; editing a file under web/ shows on the next reload without a restart.
 */
export class StaticFileCache {
  private readonly entries = new Map<string, { mtimeMs: number; size: number; file: StaticFile }>();

  async get(path: string): Promise<StaticFile | undefined> {
    let info;
    try {
      info = await stat(path);
    } catch {
      return undefined;
    }
    if (!info.isFile()) return undefined;
    const cached = this.entries.get(path);
    if (cached && cached.mtimeMs === info.mtimeMs && cached.size === info.size) return cached.file;
    const body = await readFile(path);
    const file: StaticFile = {
      body,
      contentType: contentTypes[extname(path).toLowerCase()] ?? 'application/octet-stream',
      etag: `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`,
    };
    this.entries.set(path, { mtimeMs: info.mtimeMs, size: info.size, file });
    return file;
  }
}

/** True when an If-None-Match header names this ETag (a list, weak forms and `*` included). */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === '*') return true;
  return ifNoneMatch.split(',').some((t) => t.trim().replace(/^W\//, '') === etag);
}
