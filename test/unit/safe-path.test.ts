import { mkdir, mkdtemp, readdir, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UnpackError } from '../../src/errors.js';
import { joinRoot, resolveInRoot, splitArchivePath } from '../../src/unpack/safe-path.js';

let base = '';
let root = '';
let outside = '';

test.before.each(async () => {
  base = await realpath(await mkdtemp(join(tmpdir(), 'rootstrap-safe-path-')));
  root = join(base, 'root');
  outside = join(base, 'outside');
  await mkdir(root);
  await mkdir(outside);
});

test.after.each(async () => {
  if (base) await rm(base, { recursive: true, force: true });
  base = '';
});

async function expectUnpackError(fn: () => Promise<unknown> | unknown, code: string): Promise<UnpackError> {
  try {
    await fn();
  } catch (error) {
    assert.instance(error, UnpackError);
    assert.is((error as UnpackError).code, code, (error as Error).message);
    assert.is((error as UnpackError).kind, 'unpack');
    return error as UnpackError;
  }
  assert.unreachable(`expected UnpackError ${code}`);
  throw new Error('unreachable');
}

// ---------------------------------------------------------------------------------------------------------
// splitArchivePath

const SPLIT: Array<[string, string[]]> = [
  ['./usr/bin/x', ['usr', 'bin', 'x']],
  ['usr/bin/x', ['usr', 'bin', 'x']],
  ['/usr/bin/x', ['usr', 'bin', 'x']],
  ['./usr/share/doc/', ['usr', 'share', 'doc']],
  ['//usr//bin///x', ['usr', 'bin', 'x']],
  ['./usr/./bin/./x', ['usr', 'bin', 'x']],
  ['./', []],
  ['.', []],
  ['/', []],
  ['', []],
  ['./a..b/...', ['a..b', '...']],
  ['./.hidden/..x', ['.hidden', '..x']],
  ['./with space/ünïcode', ['with space', 'ünïcode']],
];
for (const [name, parts] of SPLIT) {
  test(`splitArchivePath(${JSON.stringify(name)})`, () => {
    assert.equal(splitArchivePath(name, 'pkg'), parts);
  });
}

for (const name of ['..', '../x', './../x', 'a/../b', 'a/b/..', '/../etc/passwd', 'a/../../..', './usr/../../outside/x']) {
  test(`splitArchivePath refuses ".." in ${JSON.stringify(name)}`, async () => {
    const e = await expectUnpackError(() => splitArchivePath(name, 'evil.deb'), 'unsafe-path');
    assert.match(e.message, 'evil.deb');
    assert.match(e.message, '".."');
  });
}

test('splitArchivePath refuses a NUL byte', async () => {
  await expectUnpackError(() => splitArchivePath('./usr/bin/x\0/y', 'p'), 'unsafe-path');
  await expectUnpackError(() => splitArchivePath('\0', 'p'), 'unsafe-path');
});

test('splitArchivePath: names up to 4096 bytes pass, longer are refused', async () => {
  const component = 'c'.repeat(200);
  const name4096 = Array.from({ length: 20 }, () => component).join('/') + '/' + 'd'.repeat(4096 - 20 * 201);
  assert.is(name4096.length, 4096);
  assert.is(splitArchivePath(name4096, 'p').length, 21);
  const e = await expectUnpackError(() => splitArchivePath(name4096 + 'x', 'p'), 'unsafe-path');
  assert.match(e.message, '4096');
});

test('splitArchivePath: components up to 255 bytes pass, longer are refused (bytes, not characters)', async () => {
  assert.equal(splitArchivePath(`a/${'x'.repeat(255)}`, 'p'), ['a', 'x'.repeat(255)]);
  await expectUnpackError(() => splitArchivePath(`a/${'x'.repeat(256)}/b`, 'p'), 'unsafe-path');
  assert.equal(splitArchivePath('é'.repeat(127), 'p').length, 1); // 254 bytes
  await expectUnpackError(() => splitArchivePath('é'.repeat(128), 'p'), 'unsafe-path'); // 256 bytes, 128 characters
});

test('joinRoot', () => {
  assert.is(joinRoot('/r', []), '/r');
  assert.is(joinRoot('/r', ['a', 'b']), '/r/a/b');
});

// ---------------------------------------------------------------------------------------------------------
// resolveInRoot

test('plain existing and missing components', async () => {
  await mkdir(join(root, 'usr/bin'), { recursive: true });
  assert.equal(await resolveInRoot(root, ['usr', 'bin'], true, 'p'), { parts: ['usr', 'bin'], path: `${root}/usr/bin` });
  assert.equal(await resolveInRoot(root, [], true, 'p'), { parts: [], path: root });
});

test('missing components are returned as they are, to be created', async () => {
  await mkdir(join(root, 'usr'));
  assert.equal(await resolveInRoot(root, ['usr', 'share', 'doc', 'x'], true, 'p'), { parts: ['usr', 'share', 'doc', 'x'], path: `${root}/usr/share/doc/x` });
  assert.equal((await resolveInRoot(root, ['a', 'b'], false, 'p')).parts, ['a', 'b']);
});

test('absolute symlink targets restart at the root', async () => {
  await mkdir(join(root, 'usr/lib'), { recursive: true });
  await symlink('/usr/lib', join(root, 'lib'));
  assert.equal(await resolveInRoot(root, ['lib', 'x.so'], true, 'p'), { parts: ['usr', 'lib', 'x.so'], path: `${root}/usr/lib/x.so` });
});

test('an absolute symlink to a host path resolves inside the root', async () => {
  await symlink(outside, join(root, 'evil'));
  const r = await resolveInRoot(root, ['evil', 'x'], true, 'p');
  assert.is(r.path, `${root}${outside}/x`);
  assert.ok(r.path.startsWith(root + '/'));
  assert.equal(r.parts, [...outside.split('/').filter(Boolean), 'x']);
});

test('relative ".." in a symlink stops at the root', async () => {
  await mkdir(join(root, 'a/b'), { recursive: true });
  await symlink('../../../../../../..', join(root, 'a/b/up'));
  assert.equal(await resolveInRoot(root, ['a', 'b', 'up', 'x'], true, 'p'), { parts: ['x'], path: `${root}/x` });
  await symlink('../sibling', join(root, 'a/b/rel'));
  assert.equal((await resolveInRoot(root, ['a', 'b', 'rel', 'f'], true, 'p')).parts, ['a', 'sibling', 'f']);
});

test('".." and "." in the parts themselves never climb above the root', async () => {
  assert.equal((await resolveInRoot(root, ['..', '..', 'x'], true, 'p')).parts, ['x']);
  await mkdir(join(root, 'a'));
  assert.equal((await resolveInRoot(root, ['a', '..', '.', 'b'], true, 'p')).parts, ['b']);
});

test('the last component is followed only with followLast', async () => {
  await mkdir(join(root, 'target'));
  await symlink('/target', join(root, 'link'));
  assert.equal((await resolveInRoot(root, ['link'], false, 'p')).parts, ['link']);
  assert.equal((await resolveInRoot(root, ['link'], true, 'p')).parts, ['target']);
  // A dangling final symlink is followed to its (missing) target.
  await symlink(outside + '/nothing', join(root, 'dangling'));
  assert.is((await resolveInRoot(root, ['dangling'], true, 'p')).path, `${root}${outside}/nothing`);
});

test('chains of symlinks are followed', async () => {
  await mkdir(join(root, 'real'));
  await symlink('real', join(root, 's1'));
  await symlink('/s1', join(root, 's2'));
  await symlink('./s2/', join(root, 's3'));
  assert.equal((await resolveInRoot(root, ['s3', 'f'], true, 'p')).parts, ['real', 'f']);
});

test('symlink loops are UnpackError symlink-loop', async () => {
  await symlink('l2', join(root, 'l1'));
  await symlink('/l1', join(root, 'l2'));
  await symlink('self', join(root, 'self'));
  await expectUnpackError(() => resolveInRoot(root, ['l1', 'x'], true, 'p'), 'symlink-loop');
  await expectUnpackError(() => resolveInRoot(root, ['self'], true, 'p'), 'symlink-loop');
  await expectUnpackError(() => resolveInRoot(root, ['self', 'x'], false, 'p'), 'symlink-loop');
});

test('40 symlinks in one resolution are allowed, 41 are a loop (as for the kernel)', async () => {
  await mkdir(join(root, 'end'));
  await symlink('end', join(root, 'c40'));
  for (let i = 39; i >= 0; i--) await symlink(`c${i + 1}`, join(root, `c${i}`));
  // c1 -> c2 -> ... -> c40 -> end: 40 links.
  assert.equal((await resolveInRoot(root, ['c1', 'x'], true, 'p')).parts, ['end', 'x']);
  // c0 -> ... -> end: 41 links.
  await expectUnpackError(() => resolveInRoot(root, ['c0', 'x'], true, 'p'), 'symlink-loop');
});

test('a non-directory in the middle is UnpackError not-a-directory', async () => {
  await writeFile(join(root, 'file'), 'x');
  await symlink('/file', join(root, 'tofile'));
  await expectUnpackError(() => resolveInRoot(root, ['file', 'x'], true, 'p'), 'not-a-directory');
  await expectUnpackError(() => resolveInRoot(root, ['tofile', 'x'], true, 'p'), 'not-a-directory');
  // As the last component it is fine.
  assert.equal((await resolveInRoot(root, ['file'], true, 'p')).parts, ['file']);
});

test('a symlink through a missing directory and then ".." is refused', async () => {
  await symlink('missing/../../x', join(root, 's'));
  await expectUnpackError(() => resolveInRoot(root, ['s', 'y'], true, 'p'), 'unsafe-path');
});

test('resolving never touches the outside directory', async () => {
  await writeFile(join(outside, 'marker'), 'm');
  await symlink(outside, join(root, 'evil'));
  await symlink('../../../../../../../../..' + outside, join(root, 'evil2'));
  for (const link of ['evil', 'evil2']) {
    const r = await resolveInRoot(root, [link, 'marker'], true, 'p');
    assert.is(r.path, `${root}${outside}/marker`);
  }
  assert.equal(await readdir(outside), ['marker']);
});

test.run();
