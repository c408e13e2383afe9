/** Tree fingerprints and listings, to check that a test changed nothing outside the place it may write. */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, readdir, readFile, readlink } from 'node:fs/promises';
import { join } from 'node:path';

export const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

/** Every path under `dir` with its type, mode, size and content hash: a tree fingerprint. */
export async function fingerprint(dir: string): Promise<string> {
  const lines: string[] = [];
  const walk = async (d: string, rel: string): Promise<void> => {
    for (const name of (await readdir(d)).sort()) {
      const p = join(d, name);
      const st = await lstat(p);
      const r = `${rel}/${name}`;
      if (st.isDirectory()) {
        lines.push(`${r}/ ${st.mode.toString(8)}`);
        await walk(p, r);
      } else if (st.isFile()) lines.push(`${r} ${st.mode.toString(8)} ${st.size} ${sha256(await readFile(p))}`);
      else lines.push(`${r} ${st.mode.toString(8)} -> ${st.isSymbolicLink() ? await readlink(p) : '?'}`);
    }
  };
  await walk(dir, '');
  return lines.join('\n');
}

/** Every regular file under `dir` (absolute paths); none when `dir` does not exist. */
export async function filesUnder(dir: string): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) out.push(join(entry.parentPath ?? (entry as unknown as { path: string }).path, entry.name));
  }
  return out;
}
