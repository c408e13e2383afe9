/**
 * SIGINT while maintainer scripts run inside the sandbox (the configure stage of a real bookworm minbase):
 * rootstrap exits promptly with 130, no process and no mount is left, the configure scaffolding is removed,
 * and a rerun into the same half-built target is refused as documented (exit 10).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { defaultCacheDir } from '../../src/fetch/cache.js';

const exec = promisify(execFile);
const BIN = resolve('bin/rootstrap.js');
const interrupt = suite('interrupting the configure stage');
let work = '';

interrupt.before(async () => {
  work = await mkdtemp(join(tmpdir(), 'rootstrap-interrupt-'));
});

interrupt.after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

const pgrep = async (pattern: string): Promise<string> => (await exec('pgrep', ['-af', pattern]).catch(() => ({ stdout: '' }))).stdout.trim();

interrupt('SIGINT during configure: exit 130, nothing left running or mounted, scaffolding gone', async () => {
  const target = join(work, 'root');
  const cache = process.env.ROOTSTRAP_TEST_CACHE ?? defaultCacheDir();
  const child = spawn(process.execPath, [BIN, '--quiet', '--variant=minbase', '--cache-dir', cache, 'bookworm', target], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const closed = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  let helperSeen = false;
  for (let i = 0; i < 1200 && !helperSeen; i++) {
    await new Promise((r) => setTimeout(r, 100));
    helperSeen = (await pgrep(`rootstrap-helper .*${target}`)) !== '';
  }
  assert.ok(helperSeen, `the configure stage never started: ${stderr}`);
  await new Promise((r) => setTimeout(r, 700)); // let some maintainer scripts run
  const t0 = Date.now();
  child.kill('SIGINT');
  const code = await closed;
  assert.ok(Date.now() - t0 < 5000, 'rootstrap did not exit promptly');
  assert.is(code, 130, stderr);
  assert.match(stderr, /interrupted/);
  await new Promise((r) => setTimeout(r, 200));
  assert.is(await pgrep(target), '');
  assert.not.ok((await readFile('/proc/self/mounts', 'utf8')).includes(target));
  assert.not.ok(existsSync(join(target, 'usr/sbin/policy-rc.d')), 'policy-rc.d was left behind');
  assert.not.ok(existsSync(join(target, 'usr/sbin/start-stop-daemon.REAL')), 'the real start-stop-daemon was left aside');
  const cacheFiles = await readdir(join(cache, 'sha256'), { recursive: true });
  assert.not.ok(cacheFiles.some((f) => String(f).includes('.part-')), 'a partial download is in the cache');

  const rerun = await exec(process.execPath, [BIN, '--quiet', 'bookworm', target]).then(() => ({ code: 0, stderr: '' }), (e: { code: number; stderr: string }) => e);
  assert.is(rerun.code, 10);
  assert.match(rerun.stderr, /is not empty/);
});

interrupt.run();
