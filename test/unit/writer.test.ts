import { link, lstat, mkdir, mkdtemp, readdir, readFile, readlink, realpath, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UnpackError } from '../../src/errors.js';
import { type ArchiveEntry, type EntryType, RootWriter } from '../../src/unpack/writer.js';

// These tests chown files to arbitrary ids: they need root (the test machine runs them as root).
const IS_ROOT = process.getuid?.() === 0;

let base = '';
let root = '';
let outside = '';
let marker = '';
const MARKER_TEXT = 'host file, must not change\n';

test.before.each(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), 'rootstrap-writer-')));
  root = join(base, 'root');
  outside = join(base, 'outside');
  marker = join(outside, 'marker');
  await mkdir(root);
  await mkdir(outside);
  await writeFile(marker, MARKER_TEXT);
});

test.after.each(async () => {
  if (base) await rm(base, { recursive: true, force: true });
  base = '';
});

function entry(name: string, type: EntryType, over: Partial<ArchiveEntry> = {}): ArchiveEntry {
  return { name, type, mode: type === 'directory' ? 0o755 : 0o644, uid: 0, gid: 0, mtime: 1_700_000_000, size: 0, ...over };
}

async function* body(...chunks: string[]): AsyncIterable<Buffer> {
  for (const c of chunks) yield Buffer.from(c);
}

const file = (name: string, content: string, over: Partial<ArchiveEntry> = {}) =>
  [entry(name, 'file', { size: Buffer.byteLength(content), ...over }), body(content), 'test.deb'] as const;

/** The security tests' invariant: the sentinel directory holds only the marker, unchanged, with one link. */
async function assertOutsideUntouched(): Promise<void> {
  assert.equal(await readdir(outside), ['marker'], 'nothing was written in the outside directory');
  assert.is(await readFile(marker, 'utf8'), MARKER_TEXT, 'the marker is unchanged');
  const st = await stat(marker);
  assert.is(st.nlink, 1, 'the marker has no new hard link');
  assert.is(st.mode & 0o7777, 0o644);
}

async function expectUnpackError(fn: () => Promise<unknown>, code: string): Promise<UnpackError> {
  try {
    await fn();
  } catch (error) {
    assert.instance(error, UnpackError);
    assert.is((error as UnpackError).code, code, (error as Error).message);
    return error as UnpackError;
  }
  assert.unreachable(`expected UnpackError ${code}`);
  throw new Error('unreachable');
}

// ---------------------------------------------------------------------------------------------------------
// Entry types

test('a regular file: content, mode, owner, mtime, listPath and realPath', async () => {
  const w = new RootWriter(root);
  const written = await w.write(entry('./usr/bin/hello', 'file', { mode: 0o755, uid: 1000, gid: 1001, mtime: 1_600_000_000, size: 11 }), body('hello', ' ', 'world'), 'p');
  assert.equal(written, { listPath: '/usr/bin/hello', realPath: `${root}/usr/bin/hello` });
  const path = join(root, 'usr/bin/hello');
  assert.is(await readFile(path, 'utf8'), 'hello world');
  const st = await lstat(path);
  assert.ok(st.isFile());
  assert.is(st.mode & 0o7777, 0o755);
  if (IS_ROOT) {
    assert.is(st.uid, 1000);
    assert.is(st.gid, 1001);
  }
  assert.is(Math.floor(st.mtimeMs / 1000), 1_600_000_000);
  // Missing parents are created as plain 0755 directories.
  assert.is((await stat(join(root, 'usr'))).mode & 0o7777, 0o755);
  assert.is((await stat(join(root, 'usr/bin'))).mode & 0o7777, 0o755);
});

test('a file without a body is empty; a large multi-chunk body is written whole', async () => {
  const w = new RootWriter(root);
  await w.write(entry('empty', 'file'), undefined, 'p');
  assert.is((await stat(join(root, 'empty'))).size, 0);
  const chunk = 'x'.repeat(65536);
  async function* many(): AsyncIterable<Buffer> {
    for (let i = 0; i < 20; i++) yield Buffer.from(chunk);
  }
  await w.write(entry('big', 'file', { size: 20 * 65536 }), many(), 'p');
  assert.is((await stat(join(root, 'big'))).size, 20 * 65536);
});

for (const [mode, uid, gid] of [[0o4755, 0, 0], [0o4755, 1000, 1000], [0o2755, 0, 43], [0o6750, 5, 6], [0o1777, 0, 0], [0o600, 0, 0], [0o444, 2, 2]] as const) {
  test(`file mode ${mode.toString(8)} owned by ${uid}:${gid} survives (setuid/setgid after chown)`, async () => {
    await new RootWriter(root).write(...file('./usr/bin/x', 'x', { mode, uid, gid }));
    const st = await lstat(join(root, 'usr/bin/x'));
    assert.is((st.mode & 0o7777).toString(8), mode.toString(8));
    if (IS_ROOT) {
      assert.is(st.uid, uid);
      assert.is(st.gid, gid);
    }
  });
}

test('a file entry replaces an existing file by rename (no temporary left behind)', async () => {
  const w = new RootWriter(root);
  await w.write(...file('etc/x', 'old'));
  const keep = join(base, 'keep');
  await link(join(root, 'etc/x'), keep); // a hard link to the old file must keep the old content
  await w.write(...file('etc/x', 'new', { mode: 0o600 }));
  assert.is(await readFile(join(root, 'etc/x'), 'utf8'), 'new');
  assert.is(await readFile(keep, 'utf8'), 'old');
  assert.is((await stat(join(root, 'etc/x'))).mode & 0o7777, 0o600);
  assert.equal(await readdir(join(root, 'etc')), ['x']);
});

test('directories: mode, owner, mtime; nested', async () => {
  const w = new RootWriter(root);
  assert.equal(await w.write(entry('./var/', 'directory'), undefined, 'p'), { listPath: '/var' });
  await w.write(entry('./var/mail/', 'directory', { mode: 0o2775, uid: 0, gid: 8, mtime: 1_500_000_000 }), undefined, 'p');
  await w.write(entry('./tmp/', 'directory', { mode: 0o1777 }), undefined, 'p');
  const mail = await lstat(join(root, 'var/mail'));
  assert.ok(mail.isDirectory());
  assert.is(mail.mode & 0o7777, 0o2775);
  if (IS_ROOT) assert.is(mail.gid, 8);
  assert.is(Math.floor(mail.mtimeMs / 1000), 1_500_000_000);
  assert.is((await lstat(join(root, 'tmp'))).mode & 0o7777, 0o1777);
});

test('an existing directory keeps its metadata', async () => {
  const w = new RootWriter(root);
  await w.write(entry('./usr/', 'directory', { mode: 0o755 }), undefined, 'p');
  await w.write(entry('./usr/', 'directory', { mode: 0o700, uid: 5 }), undefined, 'p');
  const st = await lstat(join(root, 'usr'));
  assert.is(st.mode & 0o7777, 0o755);
  assert.is(st.uid, process.getuid?.());
});

test('the root entry "./" is listed as "/." and changes nothing', async () => {
  const before = (await lstat(root)).mode;
  assert.equal(await new RootWriter(root).write(entry('./', 'directory', { mode: 0o700 }), undefined, 'p'), { listPath: '/.' });
  assert.is((await lstat(root)).mode, before);
});

test('a directory where a file exists is UnpackError dir-over-file', async () => {
  const w = new RootWriter(root);
  await w.write(...file('x', 'f'));
  await expectUnpackError(() => w.write(entry('x/', 'directory'), undefined, 'p'), 'dir-over-file');
  assert.is(await readFile(join(root, 'x'), 'utf8'), 'f');
});

test('a file under a path that is a file is UnpackError not-a-directory', async () => {
  const w = new RootWriter(root);
  await w.write(...file('x', 'f'));
  await expectUnpackError(() => w.write(...file('x/y', 'g')), 'not-a-directory');
});

test('symlinks: target, owner, listPath; a symlink replaces a file or a symlink', async () => {
  const w = new RootWriter(root);
  assert.equal(await w.write(entry('./usr/bin/awk', 'symlink', { linkname: '/etc/alternatives/awk', uid: 3, gid: 4 }), undefined, 'p'), { listPath: '/usr/bin/awk' });
  const path = join(root, 'usr/bin/awk');
  assert.is(await readlink(path), '/etc/alternatives/awk');
  const st = await lstat(path);
  assert.ok(st.isSymbolicLink());
  if (IS_ROOT) {
    assert.is(st.uid, 3);
    assert.is(st.gid, 4);
  }
  await w.write(entry('./usr/bin/awk', 'symlink', { linkname: 'mawk' }), undefined, 'p');
  assert.is(await readlink(path), 'mawk');
  await w.write(...file('./usr/bin/f', 'x'));
  await w.write(entry('./usr/bin/f', 'symlink', { linkname: 'awk' }), undefined, 'p');
  assert.is(await readlink(join(root, 'usr/bin/f')), 'awk');
  assert.equal((await readdir(join(root, 'usr/bin'))).sort(), ['awk', 'f']);
});

test('a symlink with an empty target is UnpackError bad-symlink', async () => {
  await expectUnpackError(() => new RootWriter(root).write(entry('s', 'symlink', { linkname: '' }), undefined, 'p'), 'bad-symlink');
  await expectUnpackError(() => new RootWriter(root).write(entry('s', 'symlink'), undefined, 'p'), 'bad-symlink');
  assert.equal(await readdir(root), []);
});

test('hardlinks share the inode of a file the package wrote', async () => {
  const w = new RootWriter(root);
  await w.write(...file('./usr/bin/perl5.36', 'perl', { mode: 0o755 }));
  assert.equal(await w.write(entry('./usr/bin/perl', 'hardlink', { linkname: './usr/bin/perl5.36' }), undefined, 'p'), { listPath: '/usr/bin/perl' });
  const a = await stat(join(root, 'usr/bin/perl5.36'));
  const b = await stat(join(root, 'usr/bin/perl'));
  assert.is(a.ino, b.ino);
  assert.is(a.nlink, 2);
  // A hardlink over an existing file replaces it.
  await w.write(...file('./usr/bin/other', 'other'));
  await w.write(entry('./usr/bin/other', 'hardlink', { linkname: '/usr/bin/perl5.36' }), undefined, 'p');
  assert.is(await readFile(join(root, 'usr/bin/other'), 'utf8'), 'perl');
  assert.is((await stat(join(root, 'usr/bin/perl5.36'))).nlink, 3);
});

test('a hardlink to a missing file, a directory, a symlink or nothing is UnpackError bad-hardlink', async () => {
  const w = new RootWriter(root);
  await w.write(entry('dir/', 'directory'), undefined, 'p');
  await w.write(...file('f', 'x'));
  await w.write(entry('s', 'symlink', { linkname: 'f' }), undefined, 'p');
  for (const linkname of ['missing', 'dir', 's', '', './', undefined]) {
    await expectUnpackError(() => w.write(entry('h', 'hardlink', linkname === undefined ? {} : { linkname }), undefined, 'p'), 'bad-hardlink');
  }
  assert.equal((await readdir(root)).sort(), ['dir', 'f', 's']);
});

test('a hardlink whose linkname contains ".." is UnpackError unsafe-path', async () => {
  await expectUnpackError(() => new RootWriter(root).write(entry('h', 'hardlink', { linkname: '../outside/marker' }), undefined, 'p'), 'unsafe-path');
  await assertOutsideUntouched();
});

for (const type of ['char', 'block', 'fifo'] as const) {
  test(`a ${type} node is UnpackError special-file and nothing is created`, async () => {
    const e = await expectUnpackError(() => new RootWriter(root).write(entry('./dev/null', type, { mode: 0o666 }), undefined, 'p'), 'special-file');
    assert.match(e.message, type);
    assert.equal(await readdir(root), []);
  });
}

// ---------------------------------------------------------------------------------------------------------
// Security regressions: nothing may be written outside the root.

test('SECURITY (a): an entry named ../outside/x is refused', async () => {
  await expectUnpackError(() => new RootWriter(root).write(...file('../outside/x', 'pwned')), 'unsafe-path');
  await expectUnpackError(() => new RootWriter(root).write(...file('./usr/../../outside/x', 'pwned')), 'unsafe-path');
  await expectUnpackError(() => new RootWriter(root).write(entry('../outside/d/', 'directory'), undefined, 'p'), 'unsafe-path');
  await expectUnpackError(() => new RootWriter(root).write(entry('../outside/s', 'symlink', { linkname: '/' }), undefined, 'p'), 'unsafe-path');
  await assertOutsideUntouched();
  assert.equal(await readdir(root), []);
});

test('SECURITY (b): an absolute name /outside/x lands inside the root', async () => {
  const written = await new RootWriter(root).write(...file(`${outside}/x`, 'contained'));
  assert.is(written.realPath, `${root}${outside}/x`);
  assert.is(await readFile(`${root}${outside}/x`, 'utf8'), 'contained');
  await assertOutsideUntouched();
});

test('SECURITY (c): symlink evil -> <host outside dir>, then evil/x lands in root/<outside>/x', async () => {
  const w = new RootWriter(root);
  await w.write(entry('./evil', 'symlink', { linkname: outside }), undefined, 'p');
  const written = await w.write(...file('./evil/x', 'pwned'));
  assert.is(written.realPath, `${root}${outside}/x`);
  assert.is(await readFile(`${root}${outside}/x`, 'utf8'), 'pwned');
  // Also a directory, a symlink and an overwrite attempt of the marker through the planted link.
  await w.write(entry('./evil/sub/', 'directory'), undefined, 'p');
  await w.write(entry('./evil/link', 'symlink', { linkname: '/etc/shadow' }), undefined, 'p');
  await w.write(...file('./evil/marker', 'overwritten'));
  assert.ok((await lstat(`${root}${outside}/sub`)).isDirectory());
  assert.is(await readFile(`${root}${outside}/marker`, 'utf8'), 'overwritten');
  await assertOutsideUntouched();
});

test('SECURITY (d): relative symlink evil -> ../../../../.. then evil/x lands in root/x', async () => {
  const w = new RootWriter(root);
  await w.write(entry('./evil', 'symlink', { linkname: '../../../../..' }), undefined, 'p');
  await w.write(entry('./usr/lib/deep', 'symlink', { linkname: `../../../../../../../..${outside}` }), undefined, 'p');
  assert.is((await w.write(...file('./evil/x', 'x'))).realPath, `${root}/x`);
  assert.is((await w.write(...file('./usr/lib/deep/marker', 'y'))).realPath, `${root}${outside}/marker`);
  assert.is(await readFile(join(root, 'x'), 'utf8'), 'x');
  await assertOutsideUntouched();
});

test('SECURITY (e): the symlink of one package and the file of the next (two RootWriters)', async () => {
  await new RootWriter(root).write(entry('./evil', 'symlink', { linkname: outside }), undefined, 'first.deb');
  await new RootWriter(root).write(entry('./evil2', 'symlink', { linkname: '../../../../../../..' + outside }), undefined, 'first.deb');
  const second = new RootWriter(root);
  assert.is((await second.write(...file('./evil/x', 'pwned'))).realPath, `${root}${outside}/x`);
  assert.is((await second.write(...file('./evil2/marker', 'pwned'))).realPath, `${root}${outside}/marker`);
  await second.write(entry('./evil/dir/', 'directory'), undefined, 'second.deb');
  await assertOutsideUntouched();
});

test('SECURITY (f): a symlink planted at a file path is replaced, its target not written', async () => {
  const w = new RootWriter(root);
  await w.write(entry('./etc/passwd', 'symlink', { linkname: marker }), undefined, 'first.deb');
  await w.write(entry('./etc/group', 'symlink', { linkname: `../../../../../../..${marker}` }), undefined, 'first.deb');
  // The real host path too, in case a resolver followed it on the host.
  await symlink(marker, join(root, 'etc/shadow'));
  const second = new RootWriter(root);
  for (const name of ['passwd', 'group', 'shadow']) {
    await second.write(...file(`./etc/${name}`, `new ${name}`, { mode: 0o4755 }));
    const st = await lstat(join(root, 'etc', name));
    assert.ok(st.isFile(), `${name} is now a regular file`);
    assert.is(await readFile(join(root, 'etc', name), 'utf8'), `new ${name}`);
  }
  assert.equal((await readdir(join(root, 'etc'))).sort(), ['group', 'passwd', 'shadow']);
  await assertOutsideUntouched();
});

test('SECURITY (f2): a leftover "<name>.rootstrap-new" symlink cannot redirect the replacement', async () => {
  const w = new RootWriter(root);
  await w.write(...file('./etc/x', 'old'));
  await symlink(marker, join(root, 'etc/x.rootstrap-new'));
  await w.write(...file('./etc/x', 'new'));
  assert.is(await readFile(join(root, 'etc/x'), 'utf8'), 'new');
  await assertOutsideUntouched();
});

test('SECURITY (g): a hardlink through a symlink to a host file is refused', async () => {
  const w = new RootWriter(root);
  await w.write(entry('./evil', 'symlink', { linkname: outside }), undefined, 'p');
  await w.write(entry('./evilrel', 'symlink', { linkname: `../../../../../../..${outside}` }), undefined, 'p');
  await w.write(entry('./direct', 'symlink', { linkname: marker }), undefined, 'p');
  for (const linkname of ['./evil/marker', './evilrel/marker', './direct', marker]) {
    try {
      await w.write(entry(`./h-${linkname.replace(/\W/g, '')}`, 'hardlink', { linkname }), undefined, 'p');
      // Allowed only if it linked a file inside the root: there is none, so it must not get here.
      assert.unreachable(`hardlink to ${linkname} was created`);
    } catch (error) {
      assert.instance(error, UnpackError, (error as Error).message);
      assert.is((error as UnpackError).code, 'bad-hardlink');
    }
  }
  await assertOutsideUntouched();
});

test('SECURITY (g2): a hardlink through a symlink reaches only a file inside the root', async () => {
  const w = new RootWriter(root);
  await w.write(entry('./evil', 'symlink', { linkname: outside }), undefined, 'p');
  await w.write(...file('./evil/marker', 'inside copy')); // root/<outside>/marker
  await w.write(entry('./h', 'hardlink', { linkname: './evil/marker' }), undefined, 'p');
  const h = await stat(join(root, 'h'));
  assert.is(h.ino, (await stat(`${root}${outside}/marker`)).ino);
  assert.is(await readFile(join(root, 'h'), 'utf8'), 'inside copy');
  await assertOutsideUntouched();
});

test('SECURITY (h): a file (or hardlink) where a directory exists is UnpackError file-over-dir', async () => {
  const w = new RootWriter(root);
  await w.write(entry('./usr/lib/', 'directory'), undefined, 'p');
  await w.write(...file('./usr/lib/keep', 'keep'));
  await w.write(...file('./f', 'f'));
  await expectUnpackError(() => w.write(...file('./usr/lib', 'evil')), 'file-over-dir');
  await expectUnpackError(() => w.write(entry('./usr/lib', 'hardlink', { linkname: './f' }), undefined, 'p'), 'file-over-dir');
  assert.ok((await lstat(join(root, 'usr/lib'))).isDirectory());
  assert.equal(await readdir(join(root, 'usr/lib')), ['keep']);
  assert.equal(await readdir(join(root, 'usr')), ['lib']);
});

test('SECURITY (i): a symlink entry over an existing directory keeps the directory (with a warning)', async () => {
  const warnings: string[] = [];
  const w = new RootWriter(root, { onWarning: (m) => warnings.push(m) });
  await w.write(entry('./lib/', 'directory'), undefined, 'p');
  await w.write(...file('./lib/libc.so.6', 'libc'));
  await w.write(entry('./lib', 'symlink', { linkname: outside }), undefined, 'p');
  assert.ok((await lstat(join(root, 'lib'))).isDirectory());
  assert.equal(await readdir(join(root, 'lib')), ['libc.so.6']);
  assert.is(warnings.length, 1);
  assert.match(warnings[0]!, '/lib');
  // Later writes under the path still go into the directory.
  await w.write(...file('./lib/x', 'x'));
  await new RootWriter(root).write(...file('./lib/y', 'y'));
  assert.equal((await readdir(join(root, 'lib'))).sort(), ['libc.so.6', 'x', 'y']);
  await assertOutsideUntouched();
});

test('SECURITY: a symlink that replaces a file invalidates cached resolutions', async () => {
  const w = new RootWriter(root);
  await w.write(entry('./d/', 'directory'), undefined, 'p');
  await w.write(...file('./d/a', 'a')); // caches "d"
  await w.write(...file('./s', 's'));
  await w.write(entry('./s', 'symlink', { linkname: outside }), undefined, 'p');
  await w.write(...file('./s/x', 'x'));
  assert.is(await readFile(`${root}${outside}/x`, 'utf8'), 'x');
  await assertOutsideUntouched();
});

test('SECURITY: a directory entry through a planted absolute symlink stays inside the root', async () => {
  const w = new RootWriter(root);
  await w.write(entry('./evil', 'symlink', { linkname: outside }), undefined, 'p');
  await w.write(entry('./evil/sub/deeper/', 'directory', { mode: 0o777 }), undefined, 'p');
  assert.ok((await lstat(`${root}${outside}/sub/deeper`)).isDirectory());
  await assertOutsideUntouched();
});

test.run();
