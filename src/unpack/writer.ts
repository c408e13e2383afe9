/**
 * Writes archive entries (from .deb data.tar today, rpm cpio later) into the target, safely:
 * - every parent is resolved in the root (safe-path.ts), missing parents are created one at a time;
 * - the final component is never followed: files are created O_EXCL|O_NOFOLLOW, or written beside and
 *   renamed over what was there (as dpkg does), so a planted symlink is replaced, never written through;
 * - an existing directory is never replaced (dpkg keeps a directory where a package ships a symlink), so a
 *   path once resolved to a directory stays one: resolutions can be cached and parallel packages cannot race
 *   a directory into a symlink;
 * - owners are the numeric ids of the archive (Debian's static ids, base-passwd), set before the mode so
 *   setuid/setgid bits survive (chown(2) clears them).
 */
import { constants } from 'node:fs';
import { chmod, chown, lchown, link, lstat, lutimes, mkdir, open, rename, rm, symlink, utimes } from 'node:fs/promises';
import { UnpackError } from '../errors.js';
import { joinRoot, resolveInRoot, splitArchivePath } from './safe-path.js';

export type EntryType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo';

export interface ArchiveEntry {
  /** The member name as in the archive (`./usr/bin/x`). */
  name: string;
  type: EntryType;
  /** Permission bits including setuid, setgid and sticky (07777). */
  mode: number;
  uid: number;
  gid: number;
  /** Seconds since the epoch. */
  mtime: number;
  size: number;
  /** Symlink target, or for a hardlink the archive name of the file it links to. */
  linkname?: string;
}

export interface WrittenEntry {
  /** Archive path as dpkg records it in its .list file: "/." for the root, "/usr/bin/x" otherwise. */
  listPath: string;
  /** Real path on the host (inside the root) of what was written, for regular files. */
  realPath?: string;
}

export interface RootWriterOptions {
  onWarning?: (message: string) => void;
}

const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

export class RootWriter {
  /** Archive-path prefix -> resolved real components; valid because directories are never replaced. */
  private readonly dirCache = new Map<string, string[]>();

  /** `root` must be absolute and free of symlinks (the caller passes its realpath). */
  constructor(readonly root: string, private readonly options: RootWriterOptions = {}) {}

  async write(entry: ArchiveEntry, body: AsyncIterable<Buffer> | undefined, what: string): Promise<WrittenEntry> {
    const parts = splitArchivePath(entry.name, what);
    const listPath = parts.length === 0 ? '/.' : '/' + parts.join('/');
    if (parts.length === 0) {
      // "./" itself: the target root. Its metadata belongs to the user who made it, as with debootstrap.
      await drain(body);
      return { listPath };
    }
    switch (entry.type) {
      case 'directory':
        await drain(body);
        await this.writeDirectory(parts, entry, what);
        return { listPath };
      case 'file':
        return { listPath, realPath: await this.writeFile(parts, entry, body, what) };
      case 'symlink':
        await drain(body);
        await this.writeSymlink(parts, entry, what);
        return { listPath };
      case 'hardlink':
        await drain(body);
        await this.writeHardlink(parts, entry, what);
        return { listPath };
      default:
        await drain(body);
        // Policy: device nodes, fifos and sockets are not created from packages. Debian's base sets ship none
        // (devices are made by the bootstrapper, see sandbox mkdev); a package that ships one is refused.
        throw new UnpackError('special-file', `${what}: archive member ${JSON.stringify(entry.name)} is a ${entry.type} node; rootstrap does not create device nodes or fifos from packages`, {
          hint: '--exclude this package, or create the node after the bootstrap',
        });
    }
  }

  /** Resolve (creating if missing) the directory that holds `parts`' last component. */
  private async parentDir(parts: readonly string[], what: string): Promise<string[]> {
    const key = parts.slice(0, -1).join('/');
    const cached = this.dirCache.get(key);
    if (cached) return cached;
    const resolved = await this.ensureDirectory(parts.slice(0, -1), what, 0);
    this.dirCache.set(key, resolved);
    return resolved;
  }

  private async ensureDirectory(parts: readonly string[], what: string, depth: number): Promise<string[]> {
    const resolved = await resolveInRoot(this.root, parts, true, what);
    // Create what is missing one component at a time; mkdir(2) never follows a final symlink.
    for (let i = 0; i < resolved.parts.length; i++) {
      const path = joinRoot(this.root, resolved.parts.slice(0, i + 1));
      let st;
      try {
        st = await lstat(path);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        try {
          await mkdir(path, 0o755);
          continue;
        } catch (mkdirError) {
          if ((mkdirError as NodeJS.ErrnoException).code !== 'EEXIST') throw mkdirError;
          st = await lstat(path);
        }
      }
      if (!st.isDirectory()) {
        // Raced by a parallel package (a symlink appeared): resolve again from the start.
        if (st.isSymbolicLink() && depth < 8) return this.ensureDirectory(parts, what, depth + 1);
        throw new UnpackError('not-a-directory', `${what}: ${JSON.stringify('/' + resolved.parts.slice(0, i + 1).join('/'))} is not a directory`, { hint: 'two packages disagree about this path' });
      }
    }
    return resolved.parts;
  }

  private async writeDirectory(parts: string[], entry: ArchiveEntry, what: string): Promise<void> {
    const parent = await this.parentDir(parts, what);
    const direct = [...parent, parts[parts.length - 1]!];
    // The parent is resolved already: only a symlink in the last component needs a walk from the root.
    const last = await lstat(joinRoot(this.root, direct)).catch(() => undefined);
    const resolved = last?.isSymbolicLink() ? await resolveInRoot(this.root, direct, true, what) : { parts: direct, path: joinRoot(this.root, direct) };
    const path = resolved.path;
    try {
      try {
        await mkdir(path, 0o700);
      } catch (error) {
        // A symlink led to a place whose parents are missing: create them inside the root, then retry.
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
        await this.ensureDirectory(resolved.parts.slice(0, -1), what, 0);
        await mkdir(path, 0o700);
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const st = await lstat(path);
      if (!st.isDirectory()) {
        throw new UnpackError('dir-over-file', `${what}: ships directory ${JSON.stringify(entry.name)} where a file exists`, { hint: 'two packages disagree about this path' });
      }
      return; // an existing directory keeps its metadata, as with dpkg
    }
    await chown(path, entry.uid, entry.gid);
    await chmod(path, entry.mode & 0o7777);
    await utimes(path, entry.mtime, entry.mtime);
  }

  private async writeFile(parts: string[], entry: ArchiveEntry, body: AsyncIterable<Buffer> | undefined, what: string): Promise<string> {
    const parent = await this.parentDir(parts, what);
    const name = parts[parts.length - 1]!;
    const path = joinRoot(this.root, [...parent, name]);
    let handle;
    let replace = false;
    try {
      handle = await open(path, CREATE_FLAGS, 0o600);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      await this.refuseDirectory(path, entry, what);
      replace = true;
      await rm(`${path}.rootstrap-new`, { force: true });
      handle = await open(`${path}.rootstrap-new`, CREATE_FLAGS, 0o600);
    }
    try {
      let written = 0;
      if (body) {
        for await (const chunk of body) {
          await handle.write(chunk, 0, chunk.length, written);
          written += chunk.length;
        }
      }
      await handle.chown(entry.uid, entry.gid);
      await handle.chmod(entry.mode & 0o7777);
      await handle.utimes(entry.mtime, entry.mtime);
    } finally {
      await handle.close();
    }
    if (replace) {
      this.dirCache.clear(); // a symlink may have been replaced: cached resolutions through it are void
      await rename(`${path}.rootstrap-new`, path);
    }
    return path;
  }

  private async refuseDirectory(path: string, entry: ArchiveEntry, what: string): Promise<void> {
    const st = await lstat(path);
    if (st.isDirectory()) {
      throw new UnpackError('file-over-dir', `${what}: ships ${entry.type} ${JSON.stringify(entry.name)} where a directory exists`, { hint: 'two packages disagree about this path' });
    }
  }

  private async writeSymlink(parts: string[], entry: ArchiveEntry, what: string): Promise<void> {
    const target = entry.linkname ?? '';
    if (target === '' || target.includes('\0')) {
      throw new UnpackError('bad-symlink', `${what}: symlink ${JSON.stringify(entry.name)} has an empty or invalid target`, { hint: 'the package is corrupt' });
    }
    const parent = await this.parentDir(parts, what);
    const path = joinRoot(this.root, [...parent, parts[parts.length - 1]!]);
    try {
      await symlink(target, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const st = await lstat(path);
      if (st.isDirectory()) {
        this.options.onWarning?.(`${what}: keeps directory ${JSON.stringify('/' + parts.join('/'))} where the package ships a symlink to ${target} (as dpkg does)`);
        return;
      }
      await rm(`${path}.rootstrap-new`, { force: true });
      await symlink(target, `${path}.rootstrap-new`);
      await rename(`${path}.rootstrap-new`, path);
      this.dirCache.clear();
    }
    await lchown(path, entry.uid, entry.gid);
    await lutimes(path, entry.mtime, entry.mtime);
  }

  private async writeHardlink(parts: string[], entry: ArchiveEntry, what: string): Promise<void> {
    const sourceParts = splitArchivePath(entry.linkname ?? '', what);
    if (sourceParts.length === 0) throw new UnpackError('bad-hardlink', `${what}: hardlink ${JSON.stringify(entry.name)} has no target`, { hint: 'the package is corrupt' });
    const source = await resolveInRoot(this.root, sourceParts, false, what);
    let st;
    try {
      st = await lstat(source.path);
    } catch {
      st = undefined;
    }
    if (!st?.isFile()) {
      throw new UnpackError('bad-hardlink', `${what}: hardlink ${JSON.stringify(entry.name)} points to ${JSON.stringify(entry.linkname)}, which is not a regular file in the target`, {
        hint: 'the package is corrupt or hostile; hardlinks may only name files the package already wrote',
      });
    }
    const parent = await this.parentDir(parts, what);
    const path = joinRoot(this.root, [...parent, parts[parts.length - 1]!]);
    try {
      await link(source.path, path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      await this.refuseDirectory(path, entry, what);
      await rm(`${path}.rootstrap-new`, { force: true });
      await link(source.path, `${path}.rootstrap-new`);
      await rename(`${path}.rootstrap-new`, path);
      this.dirCache.clear();
    }
  }
}

async function drain(body: AsyncIterable<Buffer> | undefined): Promise<void> {
  if (body) for await (const _ of body) void _;
}
