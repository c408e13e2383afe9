/**
 * Issue 4: hostile packages, hostile mirrors, flaky networks, interrupted runs: nothing escapes, nothing is lost.
 *
 * 1. .debs that dpkg-deb refuses to build (test/support/make-deb.ts), added to copies of the signed fixture
 *    repository (fixtures/deb-repo: generate.sh keeps the key, reindex.sh signs again);
 * 2. mirror and network faults on loopback (test/support/http-server.ts), with a second server on 127.0.0.2;
 * 3. bad command lines through the built CLI (bin/rootstrap.js);
 * 4. SIGINT/SIGTERM of the CLI while a download hangs.
 *
 * Every case checks the error (class, code, exit code, README "Exit codes") and that nothing changed outside
 * the target: a sentinel directory beside it, the rest of the scratch directory, the served repositories,
 * the host paths an escape would reach, the cache (no partial file, no file whose content is not its hash).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, cp, lstat, mkdir, mkdtemp, readdir, readFile, readlink, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FetchError, UnpackError, VerifyError } from '../../src/errors.js';
import { defaultCacheDir } from '../../src/fetch/cache.js';
import { bootstrap, type BootstrapOptions } from '../../src/pipeline.js';
import { expectFailure } from '../support/expect-failure.js';
import { fixtureFamily, generateFixtureRepo, reindexFixtureRepo, stopGpgAgent } from '../support/fixture-repo.js';
import { type Fault, startServer, type TestServer } from '../support/http-server.js';
import { makeDeb, type TarEntry } from '../support/make-deb.js';
import { filesUnder, fingerprint, sha256 } from '../support/tree.js';

const exec = promisify(execFile);
const PROJECT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(PROJECT, 'bin/rootstrap.js');

// The base fixture repository is served under /base; each hostile variant under /NAME.
const FX_BASE_DEB = '/base/pool/main/fx-base_1.0-1_amd64.deb';
const FX_LIB_DEB = '/base/pool/main/fx-lib_2.0-1_amd64.deb';
const FX_SHELL_DEB = '/base/pool/main/fx-shell_1.0-1_all.deb';

let scratch: string; // everything this file creates lives under here
let mirrors: string; // served by both servers
let base: string; // mirrors/base: the generated repository
let gnupg: string; // the fixture archive key, kept to sign variants
let keyring: string;
let recipe: string;
let server: TestServer; // 127.0.0.1
let server2: TestServer; // 127.0.0.2, the same directory
const faults = new Map<string, Fault>();
const faults2 = new Map<string, Fault>();
/** Served directory -> its fingerprint when made: none may change. */
const served = new Map<string, string>();
const children = new Set<ChildProcess>();
let homeCacheExisted: boolean;

// Per test.
let sandbox: string; // holds target, cache and sentinel
let target: string;
let cache: string;
let sentinel: string; // beside the target: must never change
let sentinelSnapshot: string;
let scratchNames: string[];

const readFileSyncSafe = (path: string): string => {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function options(extra: Partial<BootstrapOptions> = {}): BootstrapOptions {
  return {
    suite: 'fixture',
    target,
    cacheDir: cache,
    mirror: `${server.url}/base`,
    recipe,
    keyrings: [keyring],
    aptDir: join(scratch, 'no-apt'),
    configFile: join(scratch, 'no-config.json'),
    env: {},
    http: { backoffMs: 10 },
    ...extra,
  };
}

interface OutsideCheck {
  /** Host paths an escape would have created: none may exist. */
  probes?: string[];
  /** Names besides target, cache and sentinel that may exist in the sandbox. */
  allow?: string[];
}

/** Nothing changed outside the target (see the file comment). */
async function assertNothingOutside(check: OutsideCheck = {}): Promise<void> {
  const allowed = new Set(['target', 'cache', 'sentinel', ...(check.allow ?? [])]);
  for (const name of await readdir(sandbox)) assert.ok(allowed.has(name), `unexpected ${name} written beside the target`);
  assert.is(await fingerprint(sentinel), sentinelSnapshot, 'the sentinel directory beside the target changed');
  assert.equal((await readdir(scratch)).sort(), scratchNames, 'something appeared in the scratch directory, outside the sandbox');
  for (const [dir, snapshot] of served) assert.is(await fingerprint(dir), snapshot, `the served repository ${dir} was modified`);
  for (const probe of check.probes ?? []) assert.not.ok(await lstat(probe).then(() => true, () => false), `${probe} exists: something escaped the target`);
  if (!homeCacheExisted) assert.not.ok(existsSync(defaultCacheDir()), 'the default cache directory was created');
  await assertCacheClean();
}

/** No partial download, and every cached file holds the content its name (its SHA256) says. */
async function assertCacheClean(dir = cache): Promise<void> {
  for (const file of await filesUnder(dir)) {
    assert.not.ok(file.includes('.part-'), `partial download left in the cache: ${file}`);
    assert.is(sha256(await readFile(file)), basename(file), `cache file ${file} does not hold its own hash`);
  }
}

const exists = (path: string): Promise<boolean> => lstat(path).then(() => true, () => false);
const requestsOf = (s: TestServer, path: string): number => s.requests.filter((p) => p === path).length;
const debRequests = (s: TestServer = server): string[] => s.requests.filter((p) => p.endsWith('.deb'));
const cachePath = (hash: string, dir = cache): string => join(dir, 'sha256', hash.slice(0, 2), hash);

// --- hostile repository variants ---------------------------------------------------------------------------

/** A hostile package: control `Package: name` (unless `control` says otherwise), data.tar = `./` + `data`. */
function hostileDeb(name: string, data: TarEntry[], more: { control?: Record<string, string>; dataCompression?: 'none' | 'gz' } = {}): Promise<Buffer> {
  return makeDeb({
    control: { Package: name, Priority: 'optional', Section: 'misc', ...more.control },
    data: [{ name: './', type: 'directory' }, ...data],
    ...(more.dataCompression ? { dataCompression: more.dataCompression } : {}),
  });
}

interface HandIndexed {
  /** The paragraph's fields before Filename (Package, Version, Architecture...). */
  fields: Record<string, string>;
  /** Filename as written in the index. */
  filename: string;
  deb: Buffer;
  /** Where the .deb is stored under the variant (default: `filename`); null: not stored. */
  storeAt?: string | null;
}

/**
 * A copy of the base repository served under /NAME: `debs` are added to pool/main and indexed by
 * apt-ftparchive (reindex.sh); `hand` paragraphs are written here and appended to Packages
 * (reindex.sh --packages-as-is). Signed with the fixture key either way. Returns the mirror URL.
 */
async function variant(name: string, debs: Record<string, Buffer>, hand: HandIndexed[] = []): Promise<string> {
  const dir = join(mirrors, name);
  await cp(base, dir, { recursive: true });
  for (const [file, data] of Object.entries(debs)) await writeFile(join(dir, 'pool/main', file), data);
  if (Object.keys(debs).length > 0) reindexFixtureRepo(dir, gnupg);
  if (hand.length > 0) {
    const packagesPath = join(dir, 'dists/fixture/main/binary-amd64/Packages');
    let text = (await readFile(packagesPath, 'utf8')).replace(/\n*$/, '\n');
    for (const h of hand) {
      const storeAt = h.storeAt === undefined ? h.filename : h.storeAt;
      if (storeAt !== null) {
        await mkdir(dirname(join(dir, storeAt)), { recursive: true });
        await writeFile(join(dir, storeAt), h.deb);
      }
      const fields = { ...h.fields, Filename: h.filename, Size: String(h.deb.length), SHA256: sha256(h.deb), Description: 'hand-written index entry' };
      text += '\n' + Object.entries(fields).map(([k, v]) => `${k}: ${v}`).join('\n') + '\n';
    }
    await writeFile(packagesPath, text);
    reindexFixtureRepo(dir, gnupg, true);
  }
  served.set(dir, await fingerprint(dir));
  return `${server.url}/${name}`;
}

/** Bootstrap `include` from the variant at `mirror` with the extract variant. */
const extract = (mirror: string, include: string[], extra: Partial<BootstrapOptions> = {}): BootstrapOptions => options({ mirror, variant: 'extract', include, ...extra });

// --- the CLI -------------------------------------------------------------------------------------------------

interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

const CLI_ENV = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ROOTSTRAP_')));

/** Start bin/rootstrap.js (from the project directory), optionally as uid/gid 65534 through setpriv. */
function startCli(args: string[], asNobody = false): { child: ChildProcess; done: Promise<CliResult> } {
  const argv = asNobody ? ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, BIN, ...args] : [process.execPath, BIN, ...args];
  const child = spawn(argv[0]!, argv.slice(1), { cwd: PROJECT, env: CLI_ENV, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const done = new Promise<CliResult>((resolveDone) =>
    child.on('close', (code, signal) => {
      children.delete(child);
      resolveDone({ code, signal, stdout, stderr });
    }),
  );
  return { child, done };
}

const cli = (args: string[], asNobody = false): Promise<CliResult> => startCli(args, asNobody).done;

/** Exactly two stderr lines, `rootstrap: error: ...` and `hint: ...`, no stack trace, the exit code. */
function assertCliError(r: CliResult, exitCode: number, message: RegExp): void {
  assert.is(r.code, exitCode, `exit code; stderr:\n${r.stderr}`);
  const lines = r.stderr.split('\n');
  assert.is(lines.pop(), '', 'stderr ends with a newline');
  assert.is(lines.length, 2, `stderr is two lines:\n${r.stderr}`);
  assert.match(lines[0]!, /^rootstrap: error: \S/);
  assert.match(lines[0]!, message);
  assert.match(lines[1]!, /^hint: \S/);
  assert.not.match(r.stderr, /^\s+at /m, 'a stack trace was printed');
  assert.is(r.stdout, '', 'nothing on stdout');
}

/** Processes whose command line mentions `text` (pgrep -f; pgrep never lists itself). */
async function processesMentioning(text: string): Promise<string> {
  try {
    return (await exec('pgrep', ['-a', '-f', text])).stdout.trim();
  } catch {
    return ''; // pgrep exits 1 when nothing matches
  }
}

/** Every live descendant of `pid` (through /proc/PID/stat's ppid). */
async function descendants(pid: number): Promise<number[]> {
  const parents = new Map<number, number>();
  for (const name of await readdir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, 'utf8').catch(() => '');
    const m = /\) \S+ (\d+)/.exec(stat); // after "(comm)": state, ppid
    if (m) parents.set(Number(name), Number(m[1]));
  }
  const out: number[] = [];
  const todo = [pid];
  while (todo.length > 0) {
    const p = todo.pop()!;
    for (const [child, parent] of parents) if (parent === p) (out.push(child), todo.push(child));
  }
  return out;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return !/^\S+ \(.*\) Z/.test(readFileSyncSafe(`/proc/${pid}/stat`)); // a zombie is not alive
  } catch {
    return false;
  }
};

async function waitFor(what: string, condition: () => boolean | Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new assert.Assertion({ message: `timed out waiting for ${what}`, actual: false, expects: true, operator: 'waitFor' });
    await sleep(20);
  }
}

// --- setup ---------------------------------------------------------------------------------------------------

test.before(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'rootstrap-hostile-'));
  mirrors = join(scratch, 'mirrors');
  base = join(mirrors, 'base');
  gnupg = join(scratch, 'gnupg');
  generateFixtureRepo(base, gnupg);
  served.set(base, await fingerprint(base));
  keyring = join(base, 'keyring.gpg');
  recipe = join(scratch, 'fixture.json');
  await writeFile(recipe, JSON.stringify(fixtureFamily(keyring), null, 2));
  await mkdir(join(scratch, 'no-apt'));
  homeCacheExisted = existsSync(defaultCacheDir());
  server = await startServer(mirrors, faults);
  server2 = await startServer(mirrors, faults2, { host: '127.0.0.2' });
});

test.after(async () => {
  for (const child of children) child.kill('SIGKILL');
  await server?.close();
  await server2?.close();
  if (gnupg) stopGpgAgent(gnupg);
  if (scratch) await rm(scratch, { recursive: true, force: true });
});

test.before.each(async () => {
  faults.clear();
  faults2.clear();
  server.requests.length = 0;
  server2.requests.length = 0;
  sandbox = await mkdtemp(join(scratch, 'case-'));
  target = join(sandbox, 'target');
  cache = join(sandbox, 'cache');
  sentinel = join(sandbox, 'sentinel');
  await mkdir(join(sentinel, 'sub'), { recursive: true });
  await writeFile(join(sentinel, 'file'), 'precious\n');
  sentinelSnapshot = await fingerprint(sentinel);
  scratchNames = (await readdir(scratch)).sort();
});

test.after.each(async () => {
  for (const child of children) child.kill('SIGKILL');
  await rm(sandbox, { recursive: true, force: true });
});

// === 1. hostile packages =====================================================================================

test('1a. a member "../../escape" is refused: UnpackError unsafe-path (exit 7), nothing lands above the target', async () => {
  const deb = await hostileDeb('fx-evil-a', [{ name: '../../escape', content: 'escaped\n' }], { dataCompression: 'none' });
  const mirror = await variant('v-a', { 'fx-evil-a_1.0_amd64.deb': deb });
  const error = await expectFailure(extract(mirror, ['fx-evil-a']), UnpackError, 'unsafe-path', 7);
  assert.match(error.message, /fx-evil-a.*\.\.\/\.\.\/escape/);
  assert.not.ok(await exists(join(target, 'escape')));
  await assertNothingOutside({ probes: [resolve(target, '../../escape'), resolve(target, '../escape')] });
});

test('1b. an absolute member "/abs-escape" is contained: it lands at TARGET/abs-escape', async () => {
  assert.not.ok(await exists('/abs-escape'), 'the host already has /abs-escape: this test cannot tell');
  const deb = await hostileDeb('fx-evil-b', [{ name: '/abs-escape', content: 'contained\n' }]);
  const mirror = await variant('v-b', { 'fx-evil-b_1.0_amd64.deb': deb });
  const result = await bootstrap(extract(mirror, ['fx-evil-b']));
  assert.equal(result.packages.map((p) => p.name), ['fx-evil-b']);
  assert.is(await readFile(join(target, 'abs-escape'), 'utf8'), 'contained\n');
  assert.ok((await readFile(join(target, 'var/lib/dpkg/info/fx-evil-b.list'), 'utf8')).split('\n').includes('/abs-escape'));
  await assertNothingOutside({ probes: ['/abs-escape'] });
});

test('1c. symlink ./evil -> SENTINEL (absolute host path), then ./evil/pwned: lands in TARGET/SENTINEL/pwned', async () => {
  const deb = await hostileDeb('fx-evil-c', [
    { name: './evil', type: 'symlink', linkname: sentinel },
    { name: './evil/pwned', content: 'pwned\n' },
  ]);
  const mirror = await variant('v-c', { 'fx-evil-c_1.0_amd64.deb': deb });
  await bootstrap(extract(mirror, ['fx-evil-c']));
  assert.is(await readlink(join(target, 'evil')), sentinel, 'the symlink itself is kept as shipped');
  assert.is(await readFile(join(target, sentinel, 'pwned'), 'utf8'), 'pwned\n', 'the file landed under the target');
  await assertNothingOutside({ probes: [join(sentinel, 'pwned')] });
});

test('1d. relative symlink ./evil2 -> ../../../../.., then ./evil2/pwned2: lands at TARGET/pwned2', async () => {
  const hostPath = resolve(target, '../../../../..', 'pwned2');
  assert.not.ok(await exists(hostPath), `${hostPath} exists already: this test cannot tell`);
  const deb = await hostileDeb('fx-evil-d', [
    { name: './evil2', type: 'symlink', linkname: '../../../../..' },
    { name: './evil2/pwned2', content: 'pwned2\n' },
  ]);
  const mirror = await variant('v-d', { 'fx-evil-d_1.0_amd64.deb': deb });
  await bootstrap(extract(mirror, ['fx-evil-d']));
  assert.is(await readFile(join(target, 'pwned2'), 'utf8'), 'pwned2\n');
  await assertNothingOutside({ probes: [hostPath, resolve(target, '..', 'pwned2'), resolve(target, '../..', 'pwned2')] });
});

test('1e. across two packages: A ships ./evil -> SENTINEL, B ships ./evil/ and ./evil/pwned through it: contained', async () => {
  const a = await hostileDeb('fx-evil-link', [{ name: './evil', type: 'symlink', linkname: sentinel }]);
  const b = await hostileDeb('fx-evil-through', [
    { name: './evil/', type: 'directory' },
    { name: './evil/pwned', content: 'through another package\n' },
  ]);
  const mirror = await variant('v-e', { 'fx-evil-link_1.0_amd64.deb': a, 'fx-evil-through_1.0_amd64.deb': b });
  // B is held back so that A's symlink is in place first (packages are unpacked as their downloads finish).
  faults.set('/v-e/pool/main/fx-evil-through_1.0_amd64.deb', { kind: 'delay', ms: 500 });
  const result = await bootstrap(extract(mirror, ['fx-evil-link', 'fx-evil-through']));
  assert.equal(result.packages.map((p) => p.name).sort(), ['fx-evil-link', 'fx-evil-through']);
  assert.is(await readlink(join(target, 'evil')), sentinel);
  assert.is(await readFile(join(target, sentinel, 'pwned'), 'utf8'), 'through another package\n');
  await assertNothingOutside({ probes: [join(sentinel, 'pwned')] });
});

test('1f. a hardlink to "../sentinel/file" (the real sentinel, relative to the target) is refused: unsafe-path; link count unchanged', async () => {
  const before = (await stat(join(sentinel, 'file'))).nlink;
  const deb = await hostileDeb('fx-evil-f1', [{ name: './stolen', type: 'link', linkname: '../sentinel/file' }]);
  const mirror = await variant('v-f1', { 'fx-evil-f1_1.0_amd64.deb': deb });
  await expectFailure(extract(mirror, ['fx-evil-f1']), UnpackError, 'unsafe-path', 7);
  assert.is((await stat(join(sentinel, 'file'))).nlink, before, 'the host file got another link');
  assert.not.ok(await exists(join(target, 'stolen')));
  await assertNothingOutside();
});

test('1f2. a hardlink to the absolute host path SENTINEL/file is refused: bad-hardlink; link count unchanged', async () => {
  const before = (await stat(join(sentinel, 'file'))).nlink;
  const deb = await hostileDeb('fx-evil-f2', [{ name: './stolen', type: 'link', linkname: join(sentinel, 'file') }]);
  const mirror = await variant('v-f2', { 'fx-evil-f2_1.0_amd64.deb': deb });
  const error = await expectFailure(extract(mirror, ['fx-evil-f2']), UnpackError, 'bad-hardlink', 7);
  assert.match(error.message, /stolen/);
  assert.is((await stat(join(sentinel, 'file'))).nlink, before, 'the host file got another link');
  assert.not.ok(await exists(join(target, 'stolen')));
  await assertNothingOutside();
});

test('1f3. a hardlink through a planted symlink (./evil -> SENTINEL, link to ./evil/file) is refused: bad-hardlink', async () => {
  const before = (await stat(join(sentinel, 'file'))).nlink;
  const deb = await hostileDeb('fx-evil-f3', [
    { name: './evil', type: 'symlink', linkname: sentinel },
    { name: './stolen', type: 'link', linkname: './evil/file' },
  ]);
  const mirror = await variant('v-f3', { 'fx-evil-f3_1.0_amd64.deb': deb });
  await expectFailure(extract(mirror, ['fx-evil-f3']), UnpackError, 'bad-hardlink', 7);
  assert.is((await stat(join(sentinel, 'file'))).nlink, before, 'the host file got another link');
  assert.not.ok(await exists(join(target, 'stolen')));
  await assertNothingOutside();
});

test('1g. a member name longer than 4096 bytes (pax header) is refused: unsafe-path', async () => {
  const long = './' + Array.from({ length: 25 }, (_, i) => `${String(i).padStart(2, '0')}${'d'.repeat(198)}`).join('/') + '/file';
  assert.ok(long.length > 4096);
  const deb = await hostileDeb('fx-evil-g', [{ name: long, content: 'long\n' }]);
  const mirror = await variant('v-g', { 'fx-evil-g_1.0_amd64.deb': deb });
  const error = await expectFailure(extract(mirror, ['fx-evil-g']), UnpackError, 'unsafe-path', 7);
  assert.match(error.message, /longer than 4096/);
  assert.not.ok(await exists(join(target, '00' + 'd'.repeat(198))), 'a prefix of the long path was created');
  await assertNothingOutside();
});

test('1h. a character device in a package is refused: special-file (README: device nodes are not created from packages)', async () => {
  const deb = await hostileDeb('fx-evil-h1', [{ name: './dev-null', type: 'character-device', mode: 0o666, devmajor: 1, devminor: 3 }]);
  const mirror = await variant('v-h1', { 'fx-evil-h1_1.0_amd64.deb': deb });
  const error = await expectFailure(extract(mirror, ['fx-evil-h1']), UnpackError, 'special-file', 7);
  assert.match(error.message, /dev-null/);
  assert.not.ok(await exists(join(target, 'dev-null')));
  await assertNothingOutside();
});

test('1h2. a fifo in a package is refused: special-file', async () => {
  const deb = await hostileDeb('fx-evil-h2', [{ name: './a-fifo', type: 'fifo', mode: 0o644 }]);
  const mirror = await variant('v-h2', { 'fx-evil-h2_1.0_amd64.deb': deb });
  const error = await expectFailure(extract(mirror, ['fx-evil-h2']), UnpackError, 'special-file', 7);
  assert.match(error.message, /a-fifo/);
  assert.not.ok(await exists(join(target, 'a-fifo')));
  await assertNothingOutside();
});

test('1h3. a block device in a package is refused: special-file', async () => {
  const deb = await hostileDeb('fx-evil-h3', [{ name: './sda', type: 'block-device', mode: 0o660, devmajor: 8, devminor: 0 }]);
  const mirror = await variant('v-h3', { 'fx-evil-h3_1.0_amd64.deb': deb });
  await expectFailure(extract(mirror, ['fx-evil-h3']), UnpackError, 'special-file', 7);
  assert.not.ok(await exists(join(target, 'sda')));
  await assertNothingOutside();
});

test('1i. control says "Package: ../../etc", the index says fx-evil-i: VerifyError control-mismatch (exit 6), nothing unpacked', async () => {
  const deb = await hostileDeb('../../etc', [{ name: './etc/', type: 'directory' }, { name: './etc/pwned-i', content: 'x\n' }]);
  const mirror = await variant('v-i', {}, [{ fields: { Package: 'fx-evil-i', Version: '1.0', Architecture: 'amd64', Priority: 'optional' }, filename: 'pool/hostile/fx-evil-i_1.0_amd64.deb', deb }]);
  const error = await expectFailure(extract(mirror, ['fx-evil-i']), VerifyError, 'control-mismatch', 6);
  assert.match(error.message, /\.\.\/\.\.\/etc/);
  assert.not.ok(await exists(join(target, 'etc/pwned-i')), 'the package was unpacked');
  assert.equal((await readdir(join(target, 'var/lib/dpkg/info'))).sort(), [], 'dpkg info files were written');
  await assertNothingOutside({ probes: [resolve(target, '../../etc'), resolve(target, '../etc')] });
});

test('1i2. control says "Package: fx-base", the index says fx-evil-i2: control-mismatch', async () => {
  const deb = await hostileDeb('fx-base', [{ name: './usr/', type: 'directory' }, { name: './usr/i2', content: 'x\n' }], { control: { Version: '1.0-1' } });
  const mirror = await variant('v-i2', {}, [{ fields: { Package: 'fx-evil-i2', Version: '1.0-1', Architecture: 'amd64' }, filename: 'pool/hostile/fx-evil-i2_1.0-1_amd64.deb', deb }]);
  const error = await expectFailure(extract(mirror, ['fx-evil-i2']), VerifyError, 'control-mismatch', 6);
  assert.match(error.message, /fx-base.*fx-evil-i2/);
  assert.not.ok(await exists(join(target, 'usr/i2')));
  await assertNothingOutside();
});

test('1j. an index Filename with ".." is refused: VerifyError index-filename (exit 6), nothing fetched or written', async () => {
  const deb = await hostileDeb('fx-evil-j', [{ name: './j', content: 'j\n' }]);
  const mirror = await variant('v-j', {}, [{ fields: { Package: 'fx-evil-j', Version: '1.0', Architecture: 'amd64' }, filename: 'pool/main/../../../../etc/passwd', deb, storeAt: null }]);
  const error = await expectFailure(extract(mirror, ['fx-evil-j']), VerifyError, 'index-filename', 6);
  assert.match(error.message, /etc\/passwd/);
  assert.equal(debRequests(), []);
  assert.not.ok(await exists(target), 'the target was created');
  await assertNothingOutside();
});

test('1j2. an index Package name with path characters is refused: VerifyError index-name', async () => {
  const deb = await hostileDeb('fx-evil-j2', [{ name: './j2', content: 'j2\n' }]);
  const mirror = await variant('v-j2', {}, [{ fields: { Package: '../fx-evil-j2', Version: '1.0', Architecture: 'amd64' }, filename: 'pool/hostile/fx-evil-j2_1.0_amd64.deb', deb }]);
  await expectFailure(extract(mirror, ['fx-base']), VerifyError, 'index-name', 6);
  assert.equal(debRequests(), []);
  assert.not.ok(await exists(target));
  await assertNothingOutside();
});

test('1k. a file shipped over a planted symlink to a host file replaces the link, never writes through it', async () => {
  const deb = await hostileDeb('fx-evil-k', [
    { name: './x', type: 'symlink', linkname: join(sentinel, 'file') },
    { name: './y', type: 'symlink', linkname: '../sentinel/file' },
    { name: './x', content: 'replaced x\n' },
    { name: './y', content: 'replaced y\n' },
  ]);
  const mirror = await variant('v-k', { 'fx-evil-k_1.0_amd64.deb': deb });
  await bootstrap(extract(mirror, ['fx-evil-k']));
  for (const name of ['x', 'y']) {
    const st = await lstat(join(target, name));
    assert.ok(st.isFile(), `${name} is not a regular file`);
    assert.is(await readFile(join(target, name), 'utf8'), `replaced ${name}\n`);
  }
  await assertNothingOutside(); // the sentinel file is unchanged
});

test('1l. a control.tar member "../../escape-control" is refused: UnpackError bad-deb, nothing written', async () => {
  const deb = await makeDeb({
    control: { Package: 'fx-evil-l' },
    controlExtra: [{ name: '../../escape-control', content: 'x\n' }],
    data: [{ name: './', type: 'directory' }, { name: './l', content: 'l\n' }],
  });
  const mirror = await variant('v-l', { 'fx-evil-l_1.0_amd64.deb': deb });
  const error = await expectFailure(extract(mirror, ['fx-evil-l']), UnpackError, 'bad-deb', 7);
  assert.match(error.message, /escape-control/);
  assert.not.ok(await exists(join(target, 'l')));
  await assertNothingOutside({ probes: [resolve(target, '../../escape-control'), resolve(target, '../escape-control')] });
});

test('1l2. a control.tar member that is a symlink to a host file (md5sums -> SENTINEL/file) is refused: bad-deb', async () => {
  const deb = await makeDeb({
    control: { Package: 'fx-evil-l2' },
    controlExtra: [{ name: './md5sums', type: 'symlink', linkname: join(sentinel, 'file') }],
    data: [{ name: './', type: 'directory' }, { name: './l2', content: 'l2\n' }],
  });
  const mirror = await variant('v-l2', { 'fx-evil-l2_1.0_amd64.deb': deb });
  await expectFailure(extract(mirror, ['fx-evil-l2']), UnpackError, 'bad-deb', 7);
  assert.not.ok(await exists(join(target, 'var/lib/dpkg/info/fx-evil-l2.md5sums')));
  await assertNothingOutside();
});

test('1m. a symlink loop (./loop -> loop, then ./loop/x) is refused: UnpackError symlink-loop', async () => {
  const deb = await hostileDeb('fx-evil-m', [
    { name: './loop', type: 'symlink', linkname: 'loop' },
    { name: './loop/x', content: 'x\n' },
  ]);
  const mirror = await variant('v-m', { 'fx-evil-m_1.0_amd64.deb': deb });
  await expectFailure(extract(mirror, ['fx-evil-m']), UnpackError, 'symlink-loop', 7);
  await assertNothingOutside();
});

// === 2. mirror and network faults ============================================================================

test('2k. a body that stalls every time: FetchError (exit 5) naming the .deb, after readTimeoutMs x attempts, nothing cached', async () => {
  faults.set(FX_BASE_DEB, { kind: 'stall' });
  const t0 = performance.now();
  const error = await expectFailure(options({ variant: 'extract', include: ['fx-base', 'fx-lib'], http: { readTimeoutMs: 500, retries: 2, backoffMs: 10 } }), FetchError, 'network', 5);
  const ms = performance.now() - t0;
  assert.match(error.message, /fx-base_1\.0-1_amd64\.deb/);
  assert.match(error.message, /3 attempts/);
  assert.is(requestsOf(server, FX_BASE_DEB), 3, 'one request per attempt');
  assert.ok(ms >= 3 * 500 * 0.9, `gave up after ${Math.round(ms)} ms, before three read timeouts`);
  assert.ok(ms < 3 * 500 + 2000, `took ${Math.round(ms)} ms: the stall was not cut by the read timeout`);
  const base = await readFile(join(mirrors, FX_BASE_DEB));
  assert.not.ok(existsSync(cachePath(sha256(base))), 'the stalled .deb is in the cache');
  assert.not.ok(await exists(join(target, 'usr/bin/fx-hello')));
  await assertNothingOutside();
});

test('2k2. a body that stalls once is retried and the bootstrap succeeds', async () => {
  faults.set(FX_BASE_DEB, { kind: 'times', n: 1, fault: { kind: 'stall' } });
  const result = await bootstrap(options({ variant: 'extract', include: ['fx-base', 'fx-lib'], http: { readTimeoutMs: 500, backoffMs: 10 } }));
  assert.is(result.packages.length, 2);
  assert.is(requestsOf(server, FX_BASE_DEB), 2);
  assert.is(await readFile(join(target, 'usr/bin/fx-hello'), 'utf8'), '#!/bin/sh\necho "hello from fx-base"\n');
  await assertNothingOutside();
});

test('2l. a connection reset before the headers, once, is retried and the bootstrap succeeds', async () => {
  faults.set(FX_BASE_DEB, { kind: 'times', n: 1, fault: { kind: 'reset' } });
  const result = await bootstrap(options({ variant: 'extract', include: ['fx-base', 'fx-lib'], http: { readTimeoutMs: 2000, backoffMs: 10 } }));
  assert.is(result.packages.length, 2);
  assert.ok(requestsOf(server, FX_BASE_DEB) >= 2, 'the reset request was not tried again');
  assert.ok(await exists(join(target, 'usr/bin/fx-hello')));
  await assertNothingOutside();
});

test('2m. a .deb redirected (302) to a second loopback server (127.0.0.2) is fetched there and verified', async () => {
  faults.set(FX_BASE_DEB, { kind: 'redirect', to: `${server2.url}${FX_BASE_DEB}` });
  await bootstrap(options({ variant: 'extract', include: ['fx-base', 'fx-lib'] }));
  assert.is(requestsOf(server, FX_BASE_DEB), 1);
  assert.is(requestsOf(server2, FX_BASE_DEB), 1, 'the redirect was not followed to 127.0.0.2');
  assert.equal(debRequests(server2), [FX_BASE_DEB]);
  const good = await readFile(join(mirrors, FX_BASE_DEB));
  assert.ok((await readFile(cachePath(sha256(good)))).equals(good));
  assert.is(await readFile(join(target, 'usr/bin/fx-hello'), 'utf8'), '#!/bin/sh\necho "hello from fx-base"\n');
  await assertNothingOutside();
});

test('2m2. a redirect to a server that serves a corrupted copy: VerifyError hash-mismatch (exit 6), nothing bad cached', async () => {
  faults.set(FX_BASE_DEB, { kind: 'redirect', to: `${server2.url}${FX_BASE_DEB}` });
  faults2.set(FX_BASE_DEB, { kind: 'corrupt' });
  const error = await expectFailure(options({ variant: 'extract', include: ['fx-base', 'fx-lib'] }), VerifyError, 'hash-mismatch', 6);
  assert.match(error.message, /fx-base_1\.0-1_amd64\.deb/);
  assert.match(error.message, /expected [0-9a-f]{64}, got [0-9a-f]{64}/);
  assert.ok(requestsOf(server2, FX_BASE_DEB) >= 2, 'a hash mismatch is retried');
  assert.not.ok(await exists(join(target, 'usr/bin/fx-hello')), 'the corrupt package was unpacked');
  await assertNothingOutside(); // includes: every cached file holds its own hash
});

test('2n. after a persistent failure of one .deb, a rerun with the same cache fetches only the missing .debs', async () => {
  const debs = [FX_BASE_DEB, FX_LIB_DEB, FX_SHELL_DEB];
  const hashes = new Map<string, string>();
  for (const path of debs) hashes.set(path, sha256(await readFile(join(mirrors, path))));
  // Watch the cache during both runs: a file whose content is not its hash must never appear in it.
  const bad: string[] = [];
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      for (const file of await filesUnder(cache).catch(() => [] as string[])) {
        if (file.includes('.part-')) continue;
        const data = await readFile(file).catch(() => undefined); // renamed or removed meanwhile
        if (data && sha256(data) !== basename(file)) bad.push(file);
      }
      await sleep(2);
    }
  })();
  try {
    // Half the body, then the connection is destroyed: undici reports "other side closed", a network error.
    faults.set(FX_BASE_DEB, { kind: 'truncate' });
    const opts = options({ variant: 'extract', include: ['fx-base', 'fx-lib', 'fx-shell'] });
    await expectFailure(opts, FetchError, 'network', 5);
    assert.is(requestsOf(server, FX_BASE_DEB), 5, 'retried 4 times');
    await assertCacheClean();
    const missing = debs.filter((p) => !existsSync(cachePath(hashes.get(p)!)));
    assert.ok(missing.includes(FX_BASE_DEB));

    faults.clear();
    server.requests.length = 0;
    await rm(target, { recursive: true, force: true });
    const result = await bootstrap(opts);
    assert.is(result.packages.length, 3);
    assert.equal(debRequests().sort(), missing.sort(), 'the rerun fetched .debs that were already cached (or not the missing ones)');
    for (const p of debs) assert.ok(existsSync(cachePath(hashes.get(p)!)), `${p} is not cached after the rerun`);
    assert.ok(await exists(join(target, 'usr/bin/fx-hello')));
  } finally {
    watching = false;
    await watcher;
  }
  assert.equal(bad, [], 'a file with bad content was in the cache');
  await assertNothingOutside();
});

test('2o. a .deb body longer than its index says: VerifyError size-mismatch (exit 6), cut off, nothing cached', async () => {
  const good = await readFile(join(mirrors, FX_BASE_DEB));
  faults.set(FX_BASE_DEB, { kind: 'replace', body: Buffer.concat([good, Buffer.alloc(1 << 20, 0x41)]) });
  const error = await expectFailure(options({ variant: 'extract', include: ['fx-base', 'fx-lib'] }), VerifyError, 'size-mismatch', 6);
  assert.match(error.message, /fx-base_1\.0-1_amd64\.deb/);
  assert.not.ok(existsSync(cachePath(sha256(good))));
  assert.not.ok(await exists(join(target, 'usr/bin/fx-hello')));
  await assertNothingOutside();
});

test('2p. a redirect loop: FetchError (exit 5) naming the .deb, not an internal error', async () => {
  faults.set(FX_BASE_DEB, { kind: 'redirect', to: `${server.url}${FX_BASE_DEB}` });
  const t0 = performance.now();
  let error: unknown;
  try {
    await bootstrap(options({ variant: 'extract', include: ['fx-base', 'fx-lib'] }));
  } catch (e) {
    error = e;
  }
  assert.instance(error, FetchError, `got ${String(error)}`);
  assert.is((error as FetchError).exitCode, 5);
  assert.match((error as FetchError).message, /fx-base_1\.0-1_amd64\.deb/);
  assert.ok(performance.now() - t0 < 5000, 'the loop was not cut short');
  assert.ok(requestsOf(server, FX_BASE_DEB) <= 6 * 5, `${requestsOf(server, FX_BASE_DEB)} requests: redirects are not bounded`);
  await assertNothingOutside();
});

test('2p2. an endless chain of redirects (distinct URLs) is cut after a few hops: FetchError (exit 5)', async () => {
  faults.set(FX_BASE_DEB, { kind: 'redirect', to: `${server2.url}/hop/1` });
  for (let n = 1; n < 50; n++) faults2.set(`/hop/${n}`, { kind: 'redirect', to: `${server2.url}/hop/${n + 1}` });
  let error: unknown;
  try {
    await bootstrap(options({ variant: 'extract', include: ['fx-base', 'fx-lib'] }));
  } catch (e) {
    error = e;
  }
  assert.instance(error, FetchError, `got ${String(error)}`);
  assert.is((error as FetchError).exitCode, 5);
  assert.match((error as FetchError).message, /fx-base_1\.0-1_amd64\.deb/);
  const hops = server2.requests.filter((p) => p.startsWith('/hop/')).length;
  assert.ok(hops <= 5 * 5, `${hops} hops followed: redirects are not bounded`);
  assert.not.ok(server2.requests.includes('/hop/49'));
  await assertNothingOutside();
});

test('2q. a redirect to file:///etc/passwd is not followed onto the host: FetchError (exit 5)', async () => {
  faults.set(FX_BASE_DEB, { kind: 'redirect', to: 'file:///etc/passwd' });
  let error: unknown;
  try {
    await bootstrap(options({ variant: 'extract', include: ['fx-base', 'fx-lib'] }));
  } catch (e) {
    error = e;
  }
  assert.instance(error, FetchError, `got ${String(error)}`);
  assert.is((error as FetchError).exitCode, 5);
  assert.not.ok(await exists(join(target, 'usr/bin/fx-hello')));
  await assertNothingOutside();
});

// === 3. bad command lines through the CLI ====================================================================

const UNREACHABLE = 'http://127.0.0.1:9/debian';

/** The sandbox before a CLI run, to check that the run created nothing. */
async function sandboxState(): Promise<string> {
  return fingerprint(sandbox);
}

test('3a. CLI: unknown suite: exit 3, two lines, nothing created', async () => {
  const before = await sandboxState();
  const r = await cli(['--quiet', '--cache-dir', cache, 'nosuchsuite', target, UNREACHABLE]);
  assertCliError(r, 3, /nosuchsuite/);
  assert.is(await sandboxState(), before);
  await assertNothingOutside();
});

test('3b. CLI: unknown variant: exit 2, two lines, nothing created', async () => {
  const before = await sandboxState();
  const r = await cli(['--quiet', '--variant', 'nosuchvariant', '--cache-dir', cache, 'bookworm', target, UNREACHABLE]);
  assertCliError(r, 2, /nosuchvariant/);
  assert.is(await sandboxState(), before);
  await assertNothingOutside();
});

test('3c. CLI: unknown option: exit 2, two lines, nothing created', async () => {
  const before = await sandboxState();
  const r = await cli(['--quiet', '--frobnicate', '--cache-dir', cache, 'bookworm', target, UNREACHABLE]);
  assertCliError(r, 2, /frobnicate/);
  assert.is(await sandboxState(), before);
  await assertNothingOutside();
});

test('3d. CLI: TARGET is a regular file: exit 10, two lines, the file unchanged', async () => {
  await writeFile(target, 'a regular file\n');
  const before = await sandboxState();
  const r = await cli(['--quiet', '--cache-dir', cache, 'bookworm', target, UNREACHABLE]);
  assertCliError(r, 10, /not a directory/);
  assert.is(await sandboxState(), before);
  await assertNothingOutside();
});

test('3e. CLI: TARGET not empty: exit 10, two lines, the directory unchanged', async () => {
  await mkdir(target);
  await writeFile(join(target, 'keep-me'), 'precious\n');
  const before = await sandboxState();
  const r = await cli(['--quiet', '--cache-dir', cache, 'bookworm', target, UNREACHABLE]);
  assertCliError(r, 10, /not empty/);
  assert.is(await sandboxState(), before);
  await assertNothingOutside();
});

test('3f. CLI: not running as root (uid 65534): exit 2, "root" in the message, nothing created', async () => {
  // A world-writable directory, so that uid 65534 could create TARGET if rootstrap tried.
  const open = await mkdtemp(join(tmpdir(), 'rootstrap-nobody-'));
  try {
    await chmod(open, 0o1777);
    const probe = await cli(['--version'], true);
    if (probe.code !== 0) {
      console.log(`  [skipped 3f: node cannot run rootstrap as uid 65534: ${probe.stderr.trim().split('\n')[0] ?? `exit ${probe.code}`}]`);
      return;
    }
    const t = join(open, 'target');
    const c = join(open, 'cache');
    const r = await cli(['--quiet', '--cache-dir', c, 'bookworm', t, UNREACHABLE], true);
    assertCliError(r, 2, /must run as root/);
    assert.equal(await readdir(open), [], 'something was created');
  } finally {
    await rm(open, { recursive: true, force: true });
  }
  await assertNothingOutside();
});

test('3g. CLI: --keyring /nonexistent: exit 6, two lines naming it, nothing created', async () => {
  const before = await sandboxState();
  const r = await cli(['--quiet', '--keyring', '/nonexistent', '--cache-dir', cache, 'bookworm', target, UNREACHABLE]);
  assertCliError(r, 6, /\/nonexistent/);
  assert.is(await sandboxState(), before);
  await assertNothingOutside();
});

test('3h. CLI: an unreachable mirror (127.0.0.1:9): exit 5 after the retries, two lines naming it, nothing created', async () => {
  const before = await sandboxState();
  const r = await cli(['--quiet', '--keyring', keyring, '--cache-dir', cache, 'bookworm', target, UNREACHABLE]);
  assertCliError(r, 5, /127\.0\.0\.1:9/);
  assert.is(await sandboxState(), before);
  await assertNothingOutside();
});

// === 4. interrupts through the CLI ===========================================================================

/** Start a CLI bootstrap of fx-base and fx-lib into `into` with fx-base's download stalled; wait until it hangs there. */
async function startHungBootstrap(into: string): Promise<ReturnType<typeof startCli>> {
  faults.set(FX_BASE_DEB, { kind: 'stall' });
  const libHash = sha256(await readFile(join(mirrors, FX_LIB_DEB)));
  const run = startCli(['--quiet', '--variant=extract', '--include=fx-base,fx-lib', '--keyring', keyring, '--cache-dir', cache, 'fixture', into, `${server.url}/base`, recipe]);
  let exited: CliResult | undefined;
  void run.done.then((r) => (exited = r));
  await waitFor('the stalled download of fx-base and the cached fx-lib', () => {
    if (exited) throw new assert.Assertion({ message: `rootstrap exited early: ${exited.code}\n${exited.stderr}`, actual: exited.code, expects: null, operator: 'running' });
    return requestsOf(server, FX_BASE_DEB) > 0 && existsSync(cachePath(libHash));
  });
  await sleep(200); // fx-lib's unpack, if any, settles; fx-base is still hanging (its read timeout is 30 s)
  return run;
}

async function assertInterrupted(run: ReturnType<typeof startCli>, signal: 'SIGINT' | 'SIGTERM', into: string): Promise<void> {
  const helpers = await descendants(run.child.pid!); // decoders, helpers: none may outlive rootstrap
  const t0 = performance.now();
  run.child.kill(signal);
  const r = await run.done;
  const ms = performance.now() - t0;
  assert.is(r.code, signal === 'SIGINT' ? 130 : 143, `exit code; stderr:\n${r.stderr}`);
  assert.ok(ms < 3000, `took ${Math.round(ms)} ms to exit after ${signal}`);
  assert.match(r.stderr, new RegExp(`interrupted by ${signal}`));
  assert.not.match(r.stderr, /^\s+at /m, 'a stack trace was printed');
  assert.is(await processesMentioning(into), '', 'a process is left');
  assert.equal(helpers.filter(alive), [], 'a child of rootstrap is left');
  assert.not.ok((await readFile('/proc/self/mounts', 'utf8')).includes(into), 'a mount is left under the target');
  await assertCacheClean();
}

test('4a. SIGINT while a download hangs: exit 130 within 3 s, no process, no mount, no partial file left', async () => {
  const run = await startHungBootstrap(target);
  await assertInterrupted(run, 'SIGINT', target);
  await assertNothingOutside();
});

test('4b. SIGTERM while a download hangs: exit 143 within 3 s, no process, no mount, no partial file left', async () => {
  const run = await startHungBootstrap(target);
  await assertInterrupted(run, 'SIGTERM', target);
  await assertNothingOutside();
});

test('4c. after an interrupt: a rerun into the same half-built target is refused (exit 10, not empty); a fresh one succeeds from the cache', async () => {
  await assertInterrupted(await startHungBootstrap(target), 'SIGINT', target);
  assert.ok((await readdir(target)).length > 0, 'the interrupted run left an empty target: the refusal below proves nothing');
  faults.clear();
  server.requests.length = 0;
  const before = await fingerprint(target);
  const args = (into: string): string[] => ['--quiet', '--variant=extract', '--include=fx-base,fx-lib', '--keyring', keyring, '--cache-dir', cache, 'fixture', into, `${server.url}/base`, recipe];
  const refused = await cli(args(target));
  assertCliError(refused, 10, /not empty/);
  assert.is(await fingerprint(target), before, 'the half-built target was changed');
  assert.equal(debRequests(), []);

  const fresh = join(sandbox, 'target2');
  const ok = await cli(args(fresh));
  assert.is(ok.code, 0, ok.stderr);
  assert.is(ok.stderr, '', '--quiet prints nothing on success');
  assert.equal(debRequests(), [FX_BASE_DEB], 'fx-lib was downloaded again instead of taken from the cache');
  assert.is(await readFile(join(fresh, 'usr/bin/fx-hello'), 'utf8'), '#!/bin/sh\necho "hello from fx-base"\n');
  assert.is(await readFile(join(fresh, 'usr/lib/fx/libfx.txt'), 'utf8'), 'fx-lib 2.0-1\n');
  await assertNothingOutside({ allow: ['target2'] });
});

test('4d. SIGINT while the InRelease download hangs: exit 130 within 3 s, the target is never created', async () => {
  faults.set('/base/dists/fixture/InRelease', { kind: 'stall', bytes: 10 });
  const run = startCli(['--quiet', '--variant=extract', '--include=fx-base', '--keyring', keyring, '--cache-dir', cache, 'fixture', target, `${server.url}/base`, recipe]);
  await waitFor('the InRelease request', () => server.requests.includes('/base/dists/fixture/InRelease'));
  await sleep(200);
  await assertInterrupted(run, 'SIGINT', target);
  assert.not.ok(await exists(target), 'the target was created');
  await assertNothingOutside();
});

test.run();
