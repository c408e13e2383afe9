import { execFileSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, readlink, realpath, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UnpackError } from '../../src/errors.js';
import { readArMembers } from '../../src/formats/deb/ar.js';
import { ControlSyntaxError } from '../../src/formats/deb/control.js';
import { readDebControl, readDebLayout, unpackDebData } from '../../src/formats/deb/deb-file.js';
import { RootWriter } from '../../src/unpack/writer.js';

let tmp = '';
test.before.each(async () => {
  tmp = await realpath(await mkdtemp(join(tmpdir(), 'rootstrap-ar-')));
});
test.after.each(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
  tmp = '';
});

async function expectBadDeb(fn: () => Promise<unknown>, detail?: string | RegExp): Promise<UnpackError> {
  try {
    await fn();
  } catch (error) {
    assert.instance(error, UnpackError, String(error));
    assert.is((error as UnpackError).code, 'bad-deb', (error as Error).message);
    assert.match((error as Error).message, 'pkg.deb');
    if (detail !== undefined) assert.match((error as Error).message, detail);
    return error as UnpackError;
  }
  assert.unreachable('expected UnpackError bad-deb');
  throw new Error('unreachable');
}

// ---------------------------------------------------------------------------------------------------------
// Real packages built with dpkg-deb

const CONTROL = 'Package: rootstrap-test\nVersion: 1.2-3\nArchitecture: all\nMaintainer: Test <test@example.test>\nDescription: a test package\n built for the unit tests\n';

async function buildDeb(compression: 'gzip' | 'xz' | 'zstd' | 'none'): Promise<string> {
  const dir = join(tmp, `build-${compression}`);
  await mkdir(join(dir, 'DEBIAN'), { recursive: true });
  await mkdir(join(dir, 'usr/bin'), { recursive: true });
  await writeFile(join(dir, 'DEBIAN/control'), CONTROL);
  await writeFile(join(dir, 'DEBIAN/postinst'), '#!/bin/sh\nset -e\necho configured\n');
  await chmod(join(dir, 'DEBIAN/postinst'), 0o755);
  await writeFile(join(dir, 'DEBIAN/conffiles'), '/etc/rootstrap-test.conf\n');
  await mkdir(join(dir, 'etc'));
  await writeFile(join(dir, 'etc/rootstrap-test.conf'), 'setting=1\n');
  await writeFile(join(dir, 'usr/bin/hello'), '#!/bin/sh\necho hello\n');
  await chmod(join(dir, 'usr/bin/hello'), 0o755);
  await symlink('hello', join(dir, 'usr/bin/hi'));
  const out = join(tmp, `pkg-${compression}.deb`);
  execFileSync('dpkg-deb', ['--root-owner-group', `-Z${compression}`, '--build', dir, out], { stdio: 'pipe' });
  return out;
}

const SUFFIX = { gzip: ['.gz', 'gz'], xz: ['.xz', 'xz'], zstd: ['.zst', 'zst'], none: ['', 'none'] } as const;

for (const compression of ['xz', 'gzip', 'zstd', 'none'] as const) {
  test(`dpkg-deb -Z${compression}: members, layout, control and data`, async () => {
    const deb = await buildDeb(compression);
    const [suffix, kind] = SUFFIX[compression];
    const members = await readArMembers(deb, 'pkg.deb');
    assert.equal(members.map((m) => m.name), ['debian-binary', `control.tar${suffix}`, `data.tar${suffix}`]);
    const debSize = (await stat(deb)).size;
    const bytes = await readFile(deb);
    assert.is(bytes.toString('latin1', members[0]!.offset, members[0]!.offset + members[0]!.size), '2.0\n');
    const last = members.at(-1)!;
    assert.ok(last.offset + last.size <= debSize && last.offset + last.size + 1 >= debSize);

    const layout = await readDebLayout(deb, 'pkg.deb');
    assert.is(layout.control.name, `control.tar${suffix}`);
    assert.is(layout.control.compression, kind);
    assert.is(layout.data.name, `data.tar${suffix}`);
    assert.is(layout.data.compression, kind);
    assert.equal({ offset: layout.data.offset, size: layout.data.size }, { offset: members[2]!.offset, size: members[2]!.size });

    const control = await readDebControl(deb, layout, 'pkg.deb');
    assert.is(control.paragraph.get('Package'), 'rootstrap-test');
    assert.is(control.paragraph.get('version'), '1.2-3');
    assert.is(control.paragraph.get('Description'), 'a test package\n built for the unit tests');
    assert.not.ok(control.files.has('control'));
    assert.equal([...control.files.keys()].sort(), ['conffiles', 'postinst']);
    const postinst = control.files.get('postinst')!;
    assert.is(postinst.data.toString(), '#!/bin/sh\nset -e\necho configured\n');
    assert.is(postinst.mode & 0o777, 0o755);
    assert.is(control.files.get('conffiles')!.data.toString(), '/etc/rootstrap-test.conf\n');

    const root = join(tmp, `root-${compression}`);
    await mkdir(root);
    const written = await unpackDebData(deb, layout, new RootWriter(root), 'pkg.deb');
    assert.equal(written.map((w) => w.listPath), ['/.', '/etc', '/etc/rootstrap-test.conf', '/usr', '/usr/bin', '/usr/bin/hello', '/usr/bin/hi']);
    assert.is(await readFile(join(root, 'usr/bin/hello'), 'utf8'), '#!/bin/sh\necho hello\n');
    assert.is((await stat(join(root, 'usr/bin/hello'))).mode & 0o7777, 0o755);
    assert.is(await readlink(join(root, 'usr/bin/hi')), 'hello');
    assert.is(written.find((w) => w.listPath === '/usr/bin/hello')!.realPath, join(root, 'usr/bin/hello'));
  });
}

test('dpkg-deb --info agrees that the hand-made test archives below are well formed (sanity of the helper)', async () => {
  const path = join(tmp, 'pkg.deb');
  await writeFile(path, await handMadeDeb());
  const info = execFileSync('dpkg-deb', ['--field', path, 'Package'], { encoding: 'utf8' });
  assert.is(info.trim(), 'hand-made');
  const layout = await readDebLayout(path, 'pkg.deb');
  const control = await readDebControl(path, layout, 'pkg.deb');
  assert.is(control.paragraph.get('Package'), 'hand-made');
});

// ---------------------------------------------------------------------------------------------------------
// Hand-made archives

/** One ar member: 60-byte header, data, a padding byte for odd sizes. */
function arMember(name: string, data: Buffer | string, over: { size?: string; terminator?: string } = {}): Buffer {
  const body = Buffer.isBuffer(data) ? data : Buffer.from(data, 'latin1');
  const header =
    name.padEnd(16) +
    '0'.padEnd(12) +
    '0'.padEnd(6) +
    '0'.padEnd(6) +
    '100644'.padEnd(8) +
    (over.size ?? String(body.length)).padEnd(10) +
    (over.terminator ?? '`\n');
  assert.is(header.length, 60);
  return Buffer.concat([Buffer.from(header, 'latin1'), body, body.length % 2 ? Buffer.from('\n') : Buffer.alloc(0)]);
}

const MAGIC = Buffer.from('!<arch>\n', 'latin1');

async function tarGz(entries: Array<{ name: string; data?: string; type?: 'file' | 'directory' | 'symlink'; mode?: number; linkname?: string }>): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const c of pack) chunks.push(c as Buffer);
  })();
  for (const e of entries) {
    const header: Partial<tar.Header> & { name: string } = { name: e.name, type: e.type ?? 'file', mode: e.mode ?? 0o644 };
    if (e.linkname) header.linkname = e.linkname;
    if ((e.type ?? 'file') === 'file') pack.entry(header, e.data ?? '');
    else pack.entry(header);
  }
  pack.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks));
}

const HAND_CONTROL = 'Package: hand-made\nVersion: 1\nArchitecture: all\nMaintainer: T <t@example.test>\nDescription: d\n';

async function handMadeDeb(controlEntries?: Parameters<typeof tarGz>[0]): Promise<Buffer> {
  const control = await tarGz(controlEntries ?? [{ name: './', type: 'directory', mode: 0o755 }, { name: './control', data: HAND_CONTROL }]);
  const data = await tarGz([{ name: './', type: 'directory', mode: 0o755 }]);
  return Buffer.concat([MAGIC, arMember('debian-binary', '2.0\n'), arMember('control.tar.gz', control), arMember('data.tar.gz', data)]);
}

async function writeDeb(...parts: Buffer[]): Promise<string> {
  const path = join(tmp, 'pkg.deb');
  await writeFile(path, Buffer.concat(parts));
  return path;
}

test('readArMembers: offsets, sizes, odd-size padding, GNU "/" name terminators', async () => {
  const path = await writeDeb(MAGIC, arMember('a', 'odd'), arMember('b/', 'even'), arMember('c', ''));
  assert.equal(await readArMembers(path, 'pkg.deb'), [
    { name: 'a', offset: 68, size: 3 },
    { name: 'b', offset: 68 + 3 + 1 + 60, size: 4 },
    { name: 'c', offset: 68 + 4 + 60 + 4 + 60, size: 0 },
  ]);
  assert.equal(await readArMembers(await writeDeb(MAGIC), 'pkg.deb'), []);
});

test('missing magic is bad-deb', async () => {
  await expectBadDeb(async () => readArMembers(await writeDeb(Buffer.from('!<arch>X'), arMember('debian-binary', '2.0\n')), 'pkg.deb'), 'no ar magic');
  await expectBadDeb(async () => readArMembers(await writeDeb(Buffer.from('PK\x03\x04 this is a zip')), 'pkg.deb'), 'no ar magic');
  await expectBadDeb(async () => readArMembers(await writeDeb(Buffer.from('!<ar')), 'pkg.deb'), 'no ar magic');
  await expectBadDeb(async () => readArMembers(await writeDeb(Buffer.alloc(0)), 'pkg.deb'), 'no ar magic');
});

test('a truncated member header is bad-deb', async () => {
  const full = arMember('debian-binary', '2.0\n');
  await expectBadDeb(async () => readArMembers(await writeDeb(MAGIC, full.subarray(0, 30)), 'pkg.deb'), 'truncated member header');
  await expectBadDeb(async () => readArMembers(await writeDeb(MAGIC, full, Buffer.from('x')), 'pkg.deb'), 'truncated member header');
});

test('a truncated member is bad-deb', async () => {
  const member = arMember('data.tar.gz', 'x'.repeat(100));
  await expectBadDeb(async () => readArMembers(await writeDeb(MAGIC, member.subarray(0, 60 + 10)), 'pkg.deb'), /truncated \(100 bytes declared, 10 present\)/);
  await expectBadDeb(async () => readArMembers(await writeDeb(MAGIC, arMember('x', 'abc', { size: '999999999' })), 'pkg.deb'), 'truncated');
});

test('a bad header terminator is bad-deb', async () => {
  await expectBadDeb(async () => readArMembers(await writeDeb(MAGIC, arMember('debian-binary', '2.0\n', { terminator: '\n`' })), 'pkg.deb'), 'terminator');
  await expectBadDeb(async () => readArMembers(await writeDeb(MAGIC, arMember('debian-binary', '2.0\n', { terminator: '  ' })), 'pkg.deb'), 'terminator');
});

for (const size of ['abc', '-4', '', '4.0', '0x4', '1e3']) {
  test(`a bad size field ${JSON.stringify(size)} is bad-deb`, async () => {
    await expectBadDeb(async () => readArMembers(await writeDeb(MAGIC, arMember('debian-binary', '2.0\n', { size })), 'pkg.deb'), 'bad size field');
  });
}

for (const name of ['../evil', 'a b', '/', '//', 'x\u00e9']) {
  test(`a member name ${JSON.stringify(name)} is bad-deb`, async () => {
    await expectBadDeb(async () => readArMembers(await writeDeb(MAGIC, arMember(name, 'data')), 'pkg.deb'), /unexpected member name|truncated/);
  });
}

test('a member that is not there is an ENOENT, not a crash', async () => {
  try {
    await readArMembers(join(tmp, 'missing.deb'), 'pkg.deb');
    assert.unreachable('should throw');
  } catch (error) {
    assert.is((error as NodeJS.ErrnoException).code, 'ENOENT');
  }
});

// readDebLayout on hand-made archives

test('the first member must be debian-binary', async () => {
  const control = await tarGz([{ name: './control', data: HAND_CONTROL }]);
  await expectBadDeb(async () => readDebLayout(await writeDeb(MAGIC, arMember('control.tar.gz', control), arMember('debian-binary', '2.0\n'), arMember('data.tar.gz', control)), 'pkg.deb'), 'first member is not debian-binary');
  await expectBadDeb(async () => readDebLayout(await writeDeb(MAGIC), 'pkg.deb'), 'first member is not debian-binary');
});

for (const version of ['3.0\n', '1.0\n', '2.0', '2\n', 'x\n', '']) {
  test(`debian-binary ${JSON.stringify(version)} is bad-deb`, async () => {
    await expectBadDeb(async () => readDebLayout(await writeDeb(MAGIC, arMember('debian-binary', version), arMember('control.tar.gz', 'c'), arMember('data.tar.gz', 'd')), 'pkg.deb'), 'unsupported format version');
  });
}

test('debian-binary 2.1 with trailing text is accepted (deb(5): minor versions are compatible)', async () => {
  const layout = await readDebLayout(await writeDeb(MAGIC, arMember('debian-binary', '2.1\nextra\n'), arMember('control.tar.xz', 'c'), arMember('data.tar.zst', 'd')), 'pkg.deb');
  assert.is(layout.control.compression, 'xz');
  assert.is(layout.data.compression, 'zst');
});

test('data before control is bad-deb', async () => {
  await expectBadDeb(async () => readDebLayout(await writeDeb(MAGIC, arMember('debian-binary', '2.0\n'), arMember('data.tar.gz', 'd'), arMember('control.tar.gz', 'c')), 'pkg.deb'), 'unexpected member "data.tar.gz"');
});

test('a missing control or data member is bad-deb', async () => {
  await expectBadDeb(async () => readDebLayout(await writeDeb(MAGIC, arMember('debian-binary', '2.0\n')), 'pkg.deb'), 'no control.tar');
  await expectBadDeb(async () => readDebLayout(await writeDeb(MAGIC, arMember('debian-binary', '2.0\n'), arMember('control.tar.gz', 'c')), 'pkg.deb'), 'no data.tar');
});

test('unknown, duplicated or badly compressed members are bad-deb', async () => {
  const head = [MAGIC, arMember('debian-binary', '2.0\n'), arMember('control.tar.gz', 'c')];
  await expectBadDeb(async () => readDebLayout(await writeDeb(...head, arMember('data.tar.gz', 'd'), arMember('evil', 'x')), 'pkg.deb'), 'unexpected member "evil"');
  await expectBadDeb(async () => readDebLayout(await writeDeb(...head, arMember('data.tar.gz', 'd'), arMember('data.tar.xz', 'd')), 'pkg.deb'), 'unexpected member');
  await expectBadDeb(async () => readDebLayout(await writeDeb(...head, arMember('control.tar.xz', 'c'), arMember('data.tar.gz', 'd')), 'pkg.deb'), 'unexpected member');
  await expectBadDeb(async () => readDebLayout(await writeDeb(...head, arMember('data.tar.lz4', 'd')), 'pkg.deb'), 'unexpected member');
});

test('members starting with "_" are ignored, as by dpkg', async () => {
  const layout = await readDebLayout(await writeDeb(MAGIC, arMember('debian-binary', '2.0\n'), arMember('_gpgorigin', 'sig'), arMember('control.tar.gz', 'c'), arMember('_x', 'y'), arMember('data.tar.gz', 'd')), 'pkg.deb');
  assert.is(layout.control.name, 'control.tar.gz');
  assert.is(layout.data.name, 'data.tar.gz');
});

// readDebControl on hand-made control.tar members

test('a control.tar without a control file is bad-deb', async () => {
  const path = await writeDeb(await handMadeDeb([{ name: './postinst', data: '#!/bin/sh\n', mode: 0o755 }]));
  await expectBadDeb(async () => readDebControl(path, await readDebLayout(path, 'pkg.deb'), 'pkg.deb'), 'no control file');
});

for (const entry of [
  { name: './../control', data: HAND_CONTROL },
  { name: './sub/control', data: HAND_CONTROL },
  { name: './link', type: 'symlink' as const, linkname: '/etc/passwd' },
  { name: './dir/', type: 'directory' as const },
  { name: './Bad Name', data: 'x' },
]) {
  test(`an unexpected control member ${JSON.stringify(entry.name)} is bad-deb`, async () => {
    const path = await writeDeb(await handMadeDeb([{ name: './control', data: HAND_CONTROL }, entry]));
    await expectBadDeb(async () => readDebControl(path, await readDebLayout(path, 'pkg.deb'), 'pkg.deb'), 'unexpected control member');
  });
}

test('a control file with two paragraphs is a ControlSyntaxError', async () => {
  const path = await writeDeb(await handMadeDeb([{ name: './control', data: HAND_CONTROL + '\nPackage: second\n' }]));
  try {
    await readDebControl(path, await readDebLayout(path, 'pkg.deb'), 'pkg.deb');
    assert.unreachable('should throw');
  } catch (error) {
    assert.instance(error, ControlSyntaxError);
  }
});

test('control member names without "./" are accepted too', async () => {
  const path = await writeDeb(await handMadeDeb([{ name: 'control', data: HAND_CONTROL }, { name: 'md5sums', data: 'x  usr/bin/y\n' }]));
  const control = await readDebControl(path, await readDebLayout(path, 'pkg.deb'), 'pkg.deb');
  assert.equal([...control.files.keys()], ['md5sums']);
});

test('a corrupt compressed control member is an error, not a hang', async () => {
  const path = await writeDeb(MAGIC, arMember('debian-binary', '2.0\n'), arMember('control.tar.gz', 'not gzip at all'), arMember('data.tar.gz', 'd'));
  try {
    await readDebControl(path, await readDebLayout(path, 'pkg.deb'), 'pkg.deb');
    assert.unreachable('should throw');
  } catch (error) {
    assert.instance(error, Error);
    assert.not.match((error as Error).message, 'should throw');
    // zlib's own error: gzip members are decoded in-process.
    assert.match((error as Error).message, /header|gzip|zlib/i);
  }
});

test.run();
