/**
 * Resolve-in-root: every path an archive names is resolved as if the target were `/`, so no entry and no
 * symlink, planted by the same package or an earlier one, can make a write land outside the target
 * (apko CVE-2026-42574, node-tar CVE-2021-37701, GNU tar CVE-2016-6321, multistrap Debian #553599).
 * Absolute symlink targets restart at the target's root; `..` stops at it.
 */
import { lstat, readlink } from 'node:fs/promises';
import { UnpackError } from '../errors.js';

/** Linux's own limit on symlinks followed in one resolution (path_resolution(7)). */
const MAX_SYMLINKS = 40;
const MAX_PATH = 4096;
const MAX_COMPONENT = 255;

/**
 * Split an archive member name into components. `./a/b/`, `a/b` and `/a/b` all give ["a", "b"]: absolute
 * names are taken relative to the target (contained). `..` is refused: no package has a reason to use it.
 */
export function splitArchivePath(name: string, what: string): string[] {
  if (name.includes('\0')) throw unsafe(what, name, 'contains a NUL byte');
  if (name.length > MAX_PATH) throw unsafe(what, name.slice(0, 80) + '…', `is longer than ${MAX_PATH} bytes`);
  const parts: string[] = [];
  for (const part of name.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') throw unsafe(what, name, 'contains a ".." component');
    if (Buffer.byteLength(part) > MAX_COMPONENT) throw unsafe(what, name.slice(0, 80) + '…', `has a component longer than ${MAX_COMPONENT} bytes`);
    parts.push(part);
  }
  return parts;
}

function unsafe(what: string, name: string, detail: string): UnpackError {
  return new UnpackError('unsafe-path', `${what}: archive member ${JSON.stringify(name)} ${detail}`, {
    hint: 'the package is corrupt or hostile; nothing was written outside the target',
  });
}

export interface ResolvedPath {
  /** Components of the real location, relative to the root, with every symlink already followed. */
  parts: string[];
  /** The real absolute path on the host, always inside the root. */
  path: string;
}

/** Join a root and components; the components never contain "/", ".." or "." by construction. */
export function joinRoot(root: string, parts: readonly string[]): string {
  return parts.length === 0 ? root : `${root}/${parts.join('/')}`;
}

/**
 * Resolve `parts` inside `root` (an absolute, symlink-free path), following symlinks in every component
 * but the last unless `followLast`. A missing component ends the walk: the rest is returned as is, to be
 * created. A non-directory in the middle is an error (ENOTDIR), as for the kernel.
 */
export async function resolveInRoot(root: string, parts: readonly string[], followLast: boolean, what: string): Promise<ResolvedPath> {
  const done: string[] = [];
  const todo = [...parts].reverse(); // a stack: the next component is at the end
  let symlinks = 0;
  while (todo.length > 0) {
    const part = todo.pop()!;
    if (part === '.' || part === '') continue;
    if (part === '..') {
      done.pop(); // never above the root
      continue;
    }
    const isLast = todo.length === 0;
    const candidate = joinRoot(root, [...done, part]);
    let st;
    try {
      st = await lstat(candidate);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        done.push(part, ...todo.reverse().filter((p) => p !== '' && p !== '.'));
        if (done.includes('..')) throw unsafe(what, parts.join('/'), 'goes through a missing directory and then ".."');
        return { parts: done, path: joinRoot(root, done) };
      }
      throw error;
    }
    if (st.isSymbolicLink() && (!isLast || followLast)) {
      if (++symlinks > MAX_SYMLINKS) {
        throw new UnpackError('symlink-loop', `${what}: too many levels of symbolic links resolving ${JSON.stringify(parts.join('/'))}`, {
          hint: 'the package ships a symlink loop',
        });
      }
      const target = await readlink(candidate);
      if (target.startsWith('/')) done.length = 0;
      for (const t of target.split('/').reverse()) todo.push(t);
      continue;
    }
    if (!isLast && !st.isDirectory()) {
      throw new UnpackError('not-a-directory', `${what}: ${JSON.stringify('/' + [...done, part].join('/'))} is not a directory, but ${JSON.stringify(parts.join('/'))} needs it to be one`, {
        hint: 'two packages disagree about this path',
      });
    }
    done.push(part);
  }
  return { parts: done, path: joinRoot(root, done) };
}
