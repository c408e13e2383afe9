/**
 * End-to-end tests of the deb pipeline against a real signed APT repository built by
 * fixtures/deb-repo/generate.sh (apt-ftparchive, dpkg-deb, gpg) and served on loopback with fault injection.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FetchError, ResolveError, TargetError, VerifyError } from '../../src/errors.js';
import { defaultCacheDir } from '../../src/fetch/cache.js';
import { bootstrap, type BootstrapOptions, type BootstrapResult } from '../../src/pipeline.js';
import { expectFailure } from '../support/expect-failure.js';
import { fixtureFamily, generateFixtureRepo } from '../support/fixture-repo.js';
import { type Fault, startServer, type TestServer } from '../support/http-server.js';
import { filesUnder, fingerprint, sha256 } from '../support/tree.js';

const INRELEASE = '/dists/fixture/InRelease';
const PACKAGES_GZ = '/dists/fixture/main/binary-amd64/Packages.gz';
const FX_BASE_DEB = '/pool/main/fx-base_1.0-1_amd64.deb';
const FX_LIB_DEB = '/pool/main/fx-lib_2.0-1_amd64.deb';

let scratch: string; // everything this file creates lives under here
let repo: string; // the generated repository (served by `server`)
let recipe: string; // a recipe family for the fixture: vendor "fixture", keyrings -> the fixture key
let recipeNoKeyring: string; // the same, with a keyring path that does not exist
let server: TestServer;
const faults = new Map<string, Fault>();
let sandbox: string; // per test: holds `target` and `cache`, and nothing else may appear in it
let repoSnapshot: string;
let homeCacheExisted: boolean;

const md5 = (data: Buffer | string): string => createHash('md5').update(data).digest('hex');

function options(extra: Partial<BootstrapOptions> = {}): BootstrapOptions {
  return {
    suite: 'fixture',
    target: join(sandbox, 'target'),
    cacheDir: join(sandbox, 'cache'),
    mirror: server.url,
    recipe,
    keyrings: [join(repo, 'keyring.gpg')],
    // No host apt sources, config file or environment may leak into a test.
    aptDir: join(scratch, 'no-apt'),
    configFile: join(scratch, 'no-config.json'),
    env: {},
    ...extra,
  };
}

/** Only `target` and `cache` may exist in the sandbox; the served repository is unchanged; no default cache appeared. */
async function assertNothingOutside(): Promise<void> {
  const names = (await readdir(sandbox)).sort();
  for (const name of names) assert.ok(name === 'target' || name === 'cache', `unexpected ${name} written beside the target`);
  assert.is(await fingerprint(repo), repoSnapshot, 'the served repository was modified');
  if (!homeCacheExisted) assert.not.ok(existsSync(defaultCacheDir()), 'the default cache directory was created');
  const partials = (await filesUnder(join(sandbox, 'cache'))).filter((f) => f.includes('.part-'));
  assert.equal(partials, [], 'partial downloads left in the cache');
}

const debRequests = (): string[] => server.requests.filter((p) => p.endsWith('.deb'));

test.before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'rootstrap-it-'));
  repo = join(scratch, 'repo');
  generateFixtureRepo(repo);
  repoSnapshot = await fingerprint(repo);
  homeCacheExisted = existsSync(defaultCacheDir());
  recipe = join(scratch, 'fixture.json');
  recipeNoKeyring = join(scratch, 'fixture-no-keyring.json');
  await writeFile(recipe, JSON.stringify(fixtureFamily(join(repo, 'keyring.gpg')), null, 2));
  await writeFile(recipeNoKeyring, JSON.stringify(fixtureFamily(join(scratch, 'missing-keyring.gpg')), null, 2));
  await mkdir(join(scratch, 'no-apt'));
  server = await startServer(repo, faults);
});

test.after(async () => {
  await server?.close();
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

test.before.each(async () => {
  faults.clear();
  server.requests.length = 0;
  sandbox = await mkdtemp(join(scratch, 'case-'));
});

test.after.each(async () => {
  await rm(sandbox, { recursive: true, force: true });
});

test('a. extract of fx-base, fx-lib, fx-shell: files, modes, links and the dpkg database', async () => {
  const result = await bootstrap(options({ variant: 'extract', include: ['fx-base', 'fx-lib', 'fx-shell'] }));
  const t = join(sandbox, 'target');
  assert.is(result.target, t);
  assert.is(result.vendor, 'fixture');
  assert.equal(result.packages.map((p) => `${p.name}=${p.version}`).sort(), ['fx-base=1.0-1', 'fx-lib=2.0-1', 'fx-shell=1.0-1']);

  // merged /usr, made before unpacking
  for (const d of ['bin', 'sbin', 'lib', 'lib64']) assert.is(await readlink(join(t, d)), `usr/${d}`);

  assert.is(await readFile(join(t, 'usr/bin/fx-hello'), 'utf8'), '#!/bin/sh\necho "hello from fx-base"\n');
  assert.is((await lstat(join(t, 'usr/bin/fx-hello'))).mode & 0o7777, 0o755);
  const suid = await lstat(join(t, 'usr/bin/fx-suid'));
  assert.is(suid.mode & 0o7777, 0o4755, 'setuid bit kept');
  assert.is(suid.uid, 0);
  assert.ok((await lstat(join(t, 'usr/bin/fx-link'))).isSymbolicLink());
  assert.is(await readlink(join(t, 'usr/bin/fx-link')), 'fx-hello');
  const hello = await lstat(join(t, 'usr/bin/fx-hello'));
  const hard = await lstat(join(t, 'usr/bin/fx-hard'));
  assert.is(hard.ino, hello.ino, 'fx-hard is a hardlink of fx-hello');
  assert.is(hello.nlink, 2);
  const conf = await readFile(join(t, 'etc/fx.conf'), 'utf8');
  assert.is(conf, '# fx configuration\ngreeting=hello\n');
  assert.is(await readFile(join(t, 'usr/lib/fx/libfx.txt'), 'utf8'), 'fx-lib 2.0-1\n', 'the highest fx-lib was unpacked');
  assert.ok(existsSync(join(t, 'usr/bin/fx-sh')), 'fx-shell (zstd) unpacked');
  // reached through the merged-/usr link
  assert.is(await readFile(join(t, 'bin/fx-hello'), 'utf8'), await readFile(join(t, 'usr/bin/fx-hello'), 'utf8'));

  // dpkg database
  const status = await readFile(join(t, 'var/lib/dpkg/status'), 'utf8');
  const stanzas = new Map(
    status.split(/\n\n+/).filter((s) => s.trim()).map((s) => [/^Package: (.+)$/m.exec(s)![1]!, s] as const),
  );
  assert.equal([...stanzas.keys()].sort(), ['fx-base', 'fx-lib', 'fx-shell']);
  for (const [name, stanza] of stanzas) assert.match(stanza, /^Status: install ok unpacked$/m, name);
  assert.match(stanzas.get('fx-lib')!, /^Version: 2\.0-1$/m);
  assert.match(stanzas.get('fx-base')!, /^Essential: yes$/m);
  assert.ok(stanzas.get('fx-base')!.includes(`Conffiles:\n /etc/fx.conf ${md5(conf)}`), `conffile hash in status:\n${stanzas.get('fx-base')}`);
  const list = (await readFile(join(t, 'var/lib/dpkg/info/fx-base.list'), 'utf8')).split('\n');
  for (const p of ['/usr/bin/fx-hello', '/usr/bin/fx-hard', '/usr/bin/fx-suid', '/usr/bin/fx-link', '/etc/fx.conf']) assert.ok(list.includes(p), `fx-base.list lists ${p}`);
  const postinst = await lstat(join(t, 'var/lib/dpkg/info/fx-base.postinst'));
  assert.ok(postinst.isFile());
  assert.is(postinst.mode & 0o777, 0o755, 'postinst is executable');
  assert.is(await readFile(join(t, 'var/lib/dpkg/info/fx-base.conffiles'), 'utf8'), '/etc/fx.conf\n');
  assert.ok(existsSync(join(t, 'var/lib/dpkg/info/fx-lib.list')));
  assert.is(await readFile(join(t, 'etc/apt/sources.list'), 'utf8'), `deb ${server.url} fixture main\n`);
  // the extract variant runs no maintainer script
  assert.not.ok(existsSync(join(t, 'var/log/bootstrap.log')));
  await assertNothingOutside();
});

test('b. printDebs with a dependency-following variant: fx-base pulls fx-lib (highest) and fx-shell; nothing written', async () => {
  const result = await bootstrap(options({ variant: 'essential', printDebs: true }));
  assert.equal(result.packages.map((p) => `${p.name}=${p.version}`).sort(), ['fx-base=1.0-1', 'fx-lib=2.0-1', 'fx-shell=1.0-1']);
  assert.is(result.target, undefined);
  assert.not.ok(existsSync(join(sandbox, 'target')), 'printDebs created the target');
  assert.equal(debRequests(), [], 'printDebs downloaded packages');
  await assertNothingOutside();
});

test('b2. printDebs: a versioned virtual package is satisfied by its provider', async () => {
  const result = await bootstrap(options({ variant: 'required', include: ['fx-tool'], printDebs: true }));
  assert.equal(result.packages.map((p) => p.name).sort(), ['fx-base', 'fx-lib', 'fx-shell', 'fx-tool']);
  assert.not.ok(existsSync(join(sandbox, 'target')));
  await assertNothingOutside();
});

test('b3. the bookworm recipe for an unknown suite: extract works on the fixture, merged /usr first', async () => {
  const result = await bootstrap(options({ recipe: 'bookworm', variant: 'extract', include: ['fx-lib'] }));
  assert.is(result.vendor, 'debian');
  assert.is(result.codename, 'fixture');
  const t = join(sandbox, 'target');
  for (const d of ['bin', 'sbin', 'lib', 'lib64']) assert.is(await readlink(join(t, d)), `usr/${d}`);
  assert.is(await readFile(join(t, 'usr/lib/fx/libfx.txt'), 'utf8'), 'fx-lib 2.0-1\n');
  await assertNothingOutside();
});

test('c. a tampered InRelease is refused before anything is written', async () => {
  const original = await readFile(join(repo, 'dists/fixture/InRelease'), 'utf8');
  const line = original.split('\n').find((l) => l.endsWith('main/binary-amd64/Packages.gz') && /^ [0-9a-f]{64} /.test(l))!;
  const tamperedLine = line.replace(/^ (.)/, (_, c: string) => ` ${c === '0' ? '1' : '0'}`);
  assert.is.not(tamperedLine, line);
  faults.set(INRELEASE, { kind: 'replace', body: Buffer.from(original.replace(line, tamperedLine)) });
  const error = await expectFailure(options({ variant: 'extract', include: ['fx-base'] }), VerifyError, 'bad-signature', 6);
  assert.match(error.message, /InRelease/);
  assert.not.ok(existsSync(join(sandbox, 'target')), 'the target was created');
  assert.not.ok(server.requests.includes(PACKAGES_GZ), 'an index was fetched after a bad signature');
  assert.equal(debRequests(), []);
  await assertNothingOutside();
});

test('d. an InRelease signed by a key not in the keyring: unknown-key', async () => {
  const error = await expectFailure(options({ variant: 'extract', include: ['fx-base'], keyrings: [join(repo, 'other-keyring.gpg')] }), VerifyError, 'unknown-key', 6);
  assert.match(error.message, /no trusted key/);
  assert.not.ok(existsSync(join(sandbox, 'target')));
  assert.equal(debRequests(), []);
  await assertNothingOutside();
});

test('e. a Packages index that does not match the signed Release: hash-mismatch naming it', async () => {
  faults.set(PACKAGES_GZ, { kind: 'corrupt' });
  const error = await expectFailure(options({ variant: 'extract', include: ['fx-base'] }), VerifyError, 'hash-mismatch', 6);
  assert.match(error.message, /fixture\/main\/binary-amd64\/Packages/);
  assert.not.ok(existsSync(join(sandbox, 'target')));
  assert.equal(debRequests(), []);
  assert.equal(await filesUnder(join(sandbox, 'cache')), [], 'the bad index was cached');
  await assertNothingOutside();
});

test('f. a .deb that does not match the index: hash-mismatch naming the package; nothing bad cached', async () => {
  faults.set(FX_BASE_DEB, { kind: 'corrupt' });
  const good = await readFile(join(repo, FX_BASE_DEB));
  const bad = Buffer.from(good);
  bad[Math.floor(bad.length / 2)]! ^= 0xff;
  const error = await expectFailure(options({ variant: 'extract', include: ['fx-base', 'fx-lib'] }), VerifyError, 'hash-mismatch', 6);
  assert.match(error.message, /fx-base_1\.0-1_amd64\.deb/);
  assert.ok(server.requests.filter((p) => p === FX_BASE_DEB).length > 1, 'a hash mismatch is retried');
  for (const file of await filesUnder(join(sandbox, 'cache'))) {
    const hash = sha256(await readFile(file));
    assert.is.not(hash, sha256(bad), `the corrupt .deb was cached as ${file}`);
    assert.ok(file.endsWith(hash), `cache file ${file} does not hold its own hash`);
  }
  // fx-base must never have reached the target (fx-lib may have, the root is left to the caller on error)
  assert.not.ok(existsSync(join(sandbox, 'target/usr/bin/fx-hello')), 'the corrupt package was unpacked');
  await assertNothingOutside();
});

test('g. transient faults (HTTP 500 twice, a truncated body once) are retried', async () => {
  faults.set(FX_BASE_DEB, { kind: 'times', n: 2, fault: { kind: 'status', code: 500 } });
  faults.set(FX_LIB_DEB, { kind: 'times', n: 1, fault: { kind: 'truncate' } });
  const result = await bootstrap(options({ variant: 'extract', include: ['fx-base', 'fx-lib', 'fx-shell'] }));
  assert.is(result.packages.length, 3);
  assert.is(server.requests.filter((p) => p === FX_BASE_DEB).length, 3);
  assert.is(server.requests.filter((p) => p === FX_LIB_DEB).length, 2);
  const t = join(sandbox, 'target');
  assert.is(await readFile(join(t, 'usr/lib/fx/libfx.txt'), 'utf8'), 'fx-lib 2.0-1\n');
  assert.ok(existsSync(join(t, 'usr/bin/fx-hello')));
  await assertNothingOutside();
});

test('h. a Release past its Valid-Until: release-expired', async () => {
  await expectFailure(options({ variant: 'extract', include: ['fx-base'], now: new Date('2100-01-01') }), VerifyError, 'release-expired', 6);
  assert.not.ok(existsSync(join(sandbox, 'target')));
  assert.equal(debRequests(), []);
  await assertNothingOutside();
});

test('i. checkGpg: false works with no keyring at all', async () => {
  // Without checkGpg: false, the recipe's missing keyring is an error ...
  await expectFailure(options({ recipe: recipeNoKeyring, keyrings: undefined, variant: 'extract', include: ['fx-base'] }), VerifyError, 'keyring-missing', 6);
  assert.not.ok(existsSync(join(sandbox, 'target')));
  // ... with it, no keyring is read and the bootstrap goes through.
  const result = await bootstrap(options({ recipe: recipeNoKeyring, keyrings: undefined, checkGpg: false, variant: 'extract', include: ['fx-base', 'fx-lib'] }));
  assert.equal(result.packages.map((p) => p.name).sort(), ['fx-base', 'fx-lib']);
  assert.ok(existsSync(join(sandbox, 'target/usr/bin/fx-hello')));
  await assertNothingOutside();
});

test('j. a rerun with the same cache fetches no .deb again', async () => {
  const opts = options({ variant: 'extract', include: ['fx-base', 'fx-lib', 'fx-shell'] });
  await bootstrap(opts);
  assert.is(debRequests().length, 3);
  server.requests.length = 0;
  const again = { ...opts, target: join(sandbox, 'target2') };
  const result = await bootstrap(again);
  assert.is(result.packages.length, 3);
  assert.equal(debRequests(), [], 'packages were downloaded again');
  assert.not.ok(server.requests.includes(PACKAGES_GZ), 'the verified index was downloaded again');
  assert.is(await fingerprint(join(sandbox, 'target2/usr')), await fingerprint(join(sandbox, 'target/usr')));
  await rm(join(sandbox, 'target2'), { recursive: true });
  await assertNothingOutside();
});

test('k. no InRelease: Release + detached Release.gpg are used, as apt falls back', async () => {
  faults.set(INRELEASE, { kind: 'status', code: 404 });
  const result = await bootstrap(options({ variant: 'extract', include: ['fx-base'] }));
  assert.equal(result.packages.map((p) => p.name), ['fx-base']);
  assert.ok(server.requests.includes('/dists/fixture/Release.gpg'), 'Release.gpg was not fetched');
  assert.ok(existsSync(join(sandbox, 'target/usr/bin/fx-hello')));
  await assertNothingOutside();
});

test('l. no InRelease and a tampered Release: bad-signature against Release.gpg', async () => {
  const release = await readFile(join(repo, 'dists/fixture/Release'), 'utf8');
  faults.set(INRELEASE, { kind: 'status', code: 404 });
  faults.set('/dists/fixture/Release', { kind: 'replace', body: Buffer.from(release.replace('Label: Fixture', 'Label: Fixturf')) });
  await expectFailure(options({ variant: 'extract', include: ['fx-base'] }), VerifyError, 'bad-signature', 6);
  assert.not.ok(existsSync(join(sandbox, 'target')));
  assert.equal(debRequests(), []);
  await assertNothingOutside();
});

test('m. no InRelease and no Release.gpg: unsigned', async () => {
  faults.set(INRELEASE, { kind: 'status', code: 404 });
  faults.set('/dists/fixture/Release.gpg', { kind: 'status', code: 404 });
  await expectFailure(options({ variant: 'extract', include: ['fx-base'] }), VerifyError, 'unsigned', 6);
  assert.not.ok(existsSync(join(sandbox, 'target')));
  await assertNothingOutside();
});

test('n. text outside the clearsigned block is never used', async () => {
  const original = await readFile(join(repo, 'dists/fixture/InRelease'), 'utf8');
  // An unsigned paragraph in front, which an InRelease reader that does not isolate the signed text would parse first.
  const forged = `Origin: Evil\nCodename: fixture\nValid-Until: Thu, 01 Jan 1970 00:00:00 UTC\nSHA256:\n ${'0'.repeat(64)} 1 main/binary-amd64/Packages.gz\n\n${original}`;
  faults.set(INRELEASE, { kind: 'replace', body: Buffer.from(forged) });
  let result: BootstrapResult | undefined;
  try {
    result = await bootstrap(options({ variant: 'extract', include: ['fx-base'], printDebs: true }));
  } catch (error) {
    // Refusing the whole file is fine too, as long as it is a verification error.
    assert.instance(error, VerifyError, String(error));
  }
  if (result) assert.equal(result.packages.map((p) => p.name), ['fx-base']);
  assert.not.ok(existsSync(join(sandbox, 'target')));
  await assertNothingOutside();
});

test('o. a .deb missing from the mirror: FetchError not-found (exit 5), not retried', async () => {
  faults.set(FX_BASE_DEB, { kind: 'status', code: 404 });
  const error = await expectFailure(options({ variant: 'extract', include: ['fx-base'] }), FetchError, 'not-found', 5);
  assert.match(error.message, /fx-base_1\.0-1_amd64\.deb/);
  assert.is(server.requests.filter((p) => p === FX_BASE_DEB).length, 1);
  await assertNothingOutside();
});

test('p. a target that is not empty is refused (exit 10), and left as it was', async () => {
  const t = join(sandbox, 'target');
  await mkdir(t);
  await writeFile(join(t, 'keep-me'), 'precious\n');
  await expectFailure(options({ variant: 'extract', include: ['fx-base'] }), TargetError, 'target-not-empty', 10);
  assert.equal(await readdir(t), ['keep-me']);
  assert.equal(debRequests(), []);
  await assertNothingOutside();
});

test('q. the bookworm recipe adds usr-is-merged when dependencies are followed: not in the fixture, a ResolveError', async () => {
  const error = await expectFailure(options({ recipe: 'bookworm', variant: 'essential', printDebs: true }), ResolveError, 'no-such-package', 4);
  assert.match(error.message, /usr-is-merged/);
  assert.not.ok(existsSync(join(sandbox, 'target')));
  await assertNothingOutside();
});

// Regression: bootstrap() used to reject as soon as one package failed (Promise.all) while the other unpacks
// kept writing into the target. The target must be quiet once bootstrap() has returned or thrown. Several rounds, because the window is a race (it shows in most rounds here).
test('r. nothing is written into the target after bootstrap() has failed', async () => {
  faults.set(FX_BASE_DEB, { kind: 'status', code: 404 });
  const changes: string[] = [];
  for (let round = 0; round < 10; round++) {
    const target = join(sandbox, 'target', `round-${round}`);
    await expectFailure(options({ target, cacheDir: join(sandbox, 'cache', `round-${round}`), variant: 'extract', include: ['fx-lib', 'fx-shell', 'fx-tool', 'fx-base'] }), FetchError, 'not-found', 5);
    const atFailure = await fingerprint(target);
    await new Promise((r) => setTimeout(r, 400));
    const later = await fingerprint(target);
    if (later !== atFailure) changes.push(`round ${round}: ${atFailure.split('\n').length} -> ${later.split('\n').length} entries`);
  }
  assert.equal(changes, [], `the target changed after bootstrap() threw: ${changes.join('; ')}`);
  await assertNothingOutside();
});

test.run();
