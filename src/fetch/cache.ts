/**
 * A content-addressed cache: files are stored under their SHA256, and only after their hash was checked
 * against the signed chain, so nothing unverified is ever reused. A hit is hashed again before use
 * (a few tens of ms for a whole base system) so a damaged cache cannot feed a bad file into a root.
 */
import { stat, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { sha256File } from '../verify/hash.js';
import type { HttpClient } from './http.js';

export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CACHE_HOME && env.XDG_CACHE_HOME.startsWith('/') ? env.XDG_CACHE_HOME : join(env.HOME ?? homedir(), '.cache');
  return join(base, 'rootstrap');
}

export class ContentCache {
  constructor(readonly dir: string) {}

  pathFor(sha256: string): string {
    if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error(`not a SHA256: ${sha256}`);
    return join(this.dir, 'sha256', sha256.slice(0, 2), sha256);
  }

  /** The cached file, if present and still matching its hash. */
  async lookup(sha256: string, size?: number): Promise<string | undefined> {
    const path = this.pathFor(sha256);
    try {
      const st = await stat(path);
      if (!st.isFile() || (size !== undefined && st.size !== size) || (await sha256File(path)) !== sha256) {
        await rm(path, { force: true });
        return undefined;
      }
      return path;
    } catch {
      return undefined;
    }
  }

  /** Return the cached file, downloading and verifying it first when needed. */
  async fetch(http: HttpClient, url: string, sha256: string, size: number | undefined, what: string): Promise<{ path: string; hit: boolean }> {
    const hit = await this.lookup(sha256, size);
    if (hit) return { path: hit, hit: true };
    const path = this.pathFor(sha256);
    await http.fetchFile(url, path, size === undefined ? { sha256 } : { sha256, size }, what);
    return { path, hit: false };
  }
}
