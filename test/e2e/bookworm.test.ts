/**
 * End to end against the real mirror (read from the host's apt sources): bootstrap bookworm minbase, check it
 * from inside with dpkg and apt, and compare it with the root debootstrap builds from the same mirror.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { defaultCacheDir } from '../../src/fetch/cache.js';
import { bootstrap, type BootstrapResult } from '../../src/pipeline.js';
import { runInRoot } from '../../src/sandbox/helper.js';
import { hostDebianMirror } from '../support/host-mirror.js';
import { buildManifest, diffManifests } from '../support/manifest.js';

const exec = promisify(execFile);
const e2e = suite('bookworm minbase, end to end');

let work = '';
let root = '';
let mirror = '';
let result: BootstrapResult;

e2e.before(async () => {
  const found = await hostDebianMirror();
  if (!found) throw new Error('the host apt sources have no Debian mirror: the e2e tests need one (see README, Tests)');
  mirror = found;
  work = await mkdtemp(join(tmpdir(), 'rootstrap-e2e-'));
  root = join(work, 'root');
  result = await bootstrap({ suite: 'bookworm', target: root, variant: 'minbase', cacheDir: process.env.ROOTSTRAP_TEST_CACHE ?? defaultCacheDir() });
});

e2e.after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

const inRoot = (script: string, network: 'none' | 'host' = 'none') =>
  runInRoot(root, ['/bin/sh', '-c', script], { network, env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LC_ALL: 'C', DEBIAN_FRONTEND: 'noninteractive', HOME: '/root' } });

e2e('the mirror came from the host apt sources and went into the target', async () => {
  assert.is(result.mirror.source, 'host-apt-sources');
  assert.is(result.mirror.url, mirror);
  assert.is(await readFile(join(root, 'etc/apt/sources.list'), 'utf8'), `deb ${mirror} bookworm main\n`);
});

e2e('dpkg --audit prints nothing and dpkg -V is clean', async () => {
  const audit = await inRoot('dpkg --audit');
  assert.is(audit.status, 0, audit.output);
  assert.is(audit.output.trim(), '');
  const verify = await inRoot('dpkg -V');
  assert.is(verify.status, 0, verify.output);
  assert.is(verify.output.trim(), '');
  const states = await inRoot("dpkg-query -W -f '${db:Status-Abbrev}\\n' | sort | uniq -c");
  assert.match(states.output.trim(), /^\d+ ii\s*$/);
});

e2e('every package of the plan is installed, and nothing else', async () => {
  const listed = await inRoot("dpkg-query -W -f '${Package}\\n'");
  assert.equal(listed.output.trim().split('\n').sort(), result.packages.map((p) => p.name).sort());
});

e2e('the package set equals what debootstrap selects for bookworm minbase', async () => {
  const { stdout } = await exec('debootstrap', ['--print-debs', '--variant=minbase', 'bookworm', join(work, 'print-debs'), mirror], { maxBuffer: 1 << 20 });
  const theirs = stdout.trim().split(/\s+/).sort();
  assert.equal(result.packages.map((p) => p.name).sort(), theirs);
});

e2e('no scaffolding is left: policy-rc.d gone, start-stop-daemon real, no diversion of ours', async () => {
  assert.not.ok(existsSync(join(root, 'usr/sbin/policy-rc.d')));
  assert.not.ok(existsSync(join(root, 'usr/sbin/start-stop-daemon.REAL')));
  const ssd = await readFile(join(root, 'usr/sbin/start-stop-daemon'));
  assert.not.ok(ssd.toString('latin1').includes('Fake start-stop-daemon'));
  const div = await inRoot('dpkg-divert --list');
  assert.not.match(div.output, /start-stop-daemon/);
});

e2e('the root has the same files, owners and modes as the root debootstrap builds', async () => {
  const ref = join(work, 'debootstrap');
  await exec('debootstrap', ['--variant=minbase', 'bookworm', ref, mirror], { maxBuffer: 64 << 20 });
  // Paths that differ by design or by the moment of the run (README, "Compared with debootstrap").
  const volatile = [
    /^\/var\/cache\/apt\/archives\//, /^\/var\/lib\/apt\/lists\//, /^\/var\/log\//, /^\/var\/cache\/ldconfig\/aux-cache$/,
    /^\/var\/lib\/dpkg\/(available|status|status-old)$/, /^\/run\/mount/, /^\/etc\/(hostname|resolv\.conf)$/, /^\/var\/cache\/debconf\/.*-old$/,
  ];
  const skip = (p: string): boolean => volatile.some((re) => re.test(p));
  const diff = diffManifests(await buildManifest(ref, skip), await buildManifest(root, skip));
  assert.equal(diff, [], diff.slice(0, 20).join('\n'));
});

e2e('apt works inside: apt-get update and apt-get install -y hello', async () => {
  const run = await inRoot('apt-get update -q && apt-get install -y -q hello && hello', 'host');
  assert.is(run.status, 0, run.output.slice(-2000));
  assert.match(run.output, /Hello, world!/);
});

e2e.run();
