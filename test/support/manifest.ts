/** A path-by-path manifest of a root (type, mode, owner, size, content hash, link target), for comparisons. */
import { createHash } from 'node:crypto';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';

export interface ManifestEntry {
  type: 'file' | 'dir' | 'symlink' | 'char' | 'block' | 'fifo' | 'socket';
  mode: number;
  uid: number;
  gid: number;
  size?: number;
  sha256?: string;
  target?: string;
  rdev?: number;
}

export async function buildManifest(root: string, skip: (path: string) => boolean): Promise<Map<string, ManifestEntry>> {
  const out = new Map<string, ManifestEntry>();
  const walk = async (rel: string): Promise<void> => {
    for (const name of (await readdir(join(root, rel))).sort()) {
      const path = `${rel}/${name}`;
      if (skip(path)) continue;
      const st = await lstat(join(root, path));
      const entry: ManifestEntry = { type: 'file', mode: st.mode & 0o7777, uid: st.uid, gid: st.gid };
      if (st.isDirectory()) {
        entry.type = 'dir';
        out.set(path, entry);
        await walk(path);
        continue;
      }
      if (st.isSymbolicLink()) {
        entry.type = 'symlink';
        entry.target = await readlink(join(root, path));
      } else if (st.isFile()) {
        entry.size = st.size;
        entry.sha256 = createHash('sha256').update(await readFile(join(root, path))).digest('hex');
      } else if (st.isCharacterDevice()) {
        entry.type = 'char';
        entry.rdev = st.rdev;
      } else if (st.isBlockDevice()) {
        entry.type = 'block';
        entry.rdev = st.rdev;
      } else if (st.isFIFO()) entry.type = 'fifo';
      else entry.type = 'socket';
      out.set(path, entry);
    }
  };
  await walk('');
  return out;
}

export function diffManifests(a: Map<string, ManifestEntry>, b: Map<string, ManifestEntry>): string[] {
  const out: string[] = [];
  for (const [path, ea] of a) {
    const eb = b.get(path);
    if (!eb) out.push(`only in first: ${path}`);
    else if (JSON.stringify(ea) !== JSON.stringify(eb)) out.push(`differs: ${path}: ${JSON.stringify(ea)} vs ${JSON.stringify(eb)}`);
  }
  for (const path of b.keys()) if (!a.has(path)) out.push(`only in second: ${path}`);
  return out;
}
