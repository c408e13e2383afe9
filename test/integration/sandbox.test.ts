/**
 * The native helper's guarantees (native/PROTOCOL.md), on a minimal busybox root: new pid and mount
 * namespaces with the host detached, no escape by double chroot or /proc/1/root, dropped capabilities,
 * errors told apart from the command's status, and nothing left after SIGKILL of the parent.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { SandboxError } from '../../src/errors.js';
import { HELPER_PATH, runInRoot } from '../../src/sandbox/helper.js';
import { makeMiniRoot } from '../support/mini-root.js';

const exec = promisify(execFile);
const sandbox = suite('sandbox helper');
let work = '';
let root = '';
let marker = '';

sandbox.before(async () => {
  work = await mkdtemp(join(tmpdir(), 'rootstrap-sandbox-'));
  root = join(work, 'root');
  await makeMiniRoot(root);
  marker = join(tmpdir(), `rootstrap-marker-${randomBytes(6).toString('hex')}`);
  await writeFile(marker, 'host secret\n');
});

sandbox.after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
  if (marker) await rm(marker, { force: true });
});

const sh = (script: string, options: Parameters<typeof runInRoot>[2] = {}) => runInRoot(root, ['/bin/sh', '-c', script], options);

sandbox('the command runs in a new pid namespace, under a reaping pid 1', async () => {
  const r = await sh('echo $$; readlink /proc/self/ns/pid');
  assert.is(r.status, 0, r.output);
  const [pid, ns] = r.output.trim().split('\n');
  assert.is(pid, '2');
  assert.is.not(ns, await exec('readlink', ['/proc/self/ns/pid']).then((o) => o.stdout.trim()));
});

sandbox('/proc/mounts inside lists no host path and only the namespace mounts', async () => {
  const r = await sh('cat /proc/mounts');
  assert.is(r.status, 0, r.output);
  assert.not.ok(r.output.includes(work), r.output);
  assert.not.ok(r.output.includes('/work/'), r.output);
  const mountPoints = r.output.trim().split('\n').map((l) => l.split(' ')[1]);
  for (const mp of mountPoints) assert.ok(mp === '/' || /^\/(proc|sys|dev)(\/|$)/.test(mp!), `unexpected mount ${mp}`);
});

sandbox('a double-chroot escape and /proc/1/root cannot see a host file', async () => {
  const src = join(work, 'escape.c');
  await writeFile(src, `#include <stdio.h>
#include <unistd.h>
#include <sys/stat.h>
int main(int argc, char **argv) {
  mkdir("/tmp/x", 0700);
  if (chroot("/tmp/x") != 0) perror("chroot");
  for (int i = 0; i < 64; i++) if (chdir("..") != 0) break;
  if (chroot(".") != 0) perror("chroot .");
  printf("escape:%s\\n", access(argv[1], F_OK) == 0 ? "SEEN" : "hidden");
  return 0;
}
`);
  await exec('cc', ['-static', '-O1', '-o', join(root, 'bin/escape'), src]);
  const r = await runInRoot(root, ['/bin/escape', marker], { allCaps: true });
  assert.is(r.status, 0, r.output);
  assert.match(r.output, /escape:hidden/);
  const p1 = await sh(`cat /proc/1/root${marker} 2>&1; ls /proc/1/root/ | wc -l`);
  assert.not.ok(p1.output.includes('host secret'), p1.output);
});

sandbox('capabilities: SYS_ADMIN and friends are gone from the bounding set, unless kept', async () => {
  const bnd = (out: string): bigint => BigInt('0x' + /CapBnd:\s+([0-9a-f]+)/.exec(out)![1]);
  const SYS_ADMIN = 1n << 21n;
  const MKNOD = 1n << 27n;
  const r = await sh('cat /proc/self/status');
  assert.is(bnd(r.output) & SYS_ADMIN, 0n);
  assert.is(bnd(r.output) & MKNOD, 0n);
  const kept = await sh('cat /proc/self/status', { keepCaps: ['SYS_ADMIN'] });
  assert.is(bnd(kept.output) & SYS_ADMIN, SYS_ADMIN);
  const m = await sh('mount -t tmpfs none /tmp 2>&1; echo status=$?');
  assert.match(m.output, /status=[1-9]/);
});

sandbox('no network by default: only lo', async () => {
  const r = await sh('cat /proc/net/dev');
  const ifaces = r.output.trim().split('\n').slice(2).map((l) => l.trim().split(':')[0]);
  assert.equal(ifaces, ['lo']);
});

sandbox('the command status comes back; a signal gives 128+N', async () => {
  assert.is((await sh('exit 7')).status, 7);
  assert.is((await sh('kill -9 $$')).status, 137);
});

sandbox('the helper tells its own failures from the command', async () => {
  try {
    await runInRoot(join(work, 'does-not-exist'), ['/bin/sh', '-c', 'true']);
    assert.unreachable('a missing root must fail');
  } catch (error) {
    assert.instance(error, SandboxError);
    assert.match((error as Error).message, /does-not-exist/);
  }
  const missing = await runInRoot(root, ['/bin/no-such-command']);
  assert.is(missing.status, 127);
  assert.match(missing.execError ?? '', /no-such-command/);
});

sandbox('SIGKILL of the parent leaves no process and no mount behind', async () => {
  const token = String(900000 + Math.floor(Math.random() * 90000));
  const script = `import { runInRoot } from ${JSON.stringify(join(process.cwd(), 'src/sandbox/helper.ts'))};
await runInRoot(${JSON.stringify(root)}, ['/bin/sleep', '${token}']);`;
  const parent = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { stdio: 'ignore' });
  let seen = false;
  for (let i = 0; i < 100 && !seen; i++) {
    await new Promise((r) => setTimeout(r, 100));
    seen = (await exec('pgrep', ['-f', `^/bin/sleep ${token}$`]).catch(() => ({ stdout: '' }))).stdout.trim() !== '';
  }
  assert.ok(seen, 'the sandboxed sleep never started');
  parent.kill('SIGKILL');
  let gone = false;
  for (let i = 0; i < 50 && !gone; i++) {
    await new Promise((r) => setTimeout(r, 100));
    gone = (await exec('pgrep', ['-f', `^/bin/sleep ${token}$`]).catch(() => ({ stdout: '' }))).stdout.trim() === '';
  }
  assert.ok(gone, 'the sandboxed command survived the SIGKILL of its parent');
  const mounts = await readFile('/proc/self/mounts', 'utf8');
  assert.not.ok(mounts.includes(root), 'a mount of the root was left on the host');
});

sandbox('the helper binary was built by npm ci', () => {
  assert.ok(existsSync(HELPER_PATH));
});

sandbox.run();
