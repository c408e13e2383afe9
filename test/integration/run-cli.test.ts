/** `rootstrap run` from the command line (the built bin/rootstrap.js), on a minimal busybox root. */
import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { makeMiniRoot } from '../support/mini-root.js';

const exec = promisify(execFile);
const BIN = resolve('bin/rootstrap.js');
const run = suite('rootstrap run');
let work = '';
let root = '';

run.before(async () => {
  work = await mkdtemp(join(tmpdir(), 'rootstrap-run-'));
  root = join(work, 'root');
  await makeMiniRoot(root);
});

run.after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

async function rootstrap(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await exec(process.execPath, [BIN, ...args]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

run('the exit status is the command’s', async () => {
  assert.is((await rootstrap(['run', root, '--', 'sh', '-c', 'exit 42'])).code, 42);
  const ok = await rootstrap(['run', root, 'echo', 'hello']);
  assert.is(ok.code, 0);
  assert.is(ok.stdout, 'hello\n');
});

run('--bind is writable, --ro-bind is not, --workdir and --hostname apply', async () => {
  const rw = join(work, 'rw');
  const ro = join(work, 'ro');
  await mkdir(rw);
  await mkdir(ro);
  await writeFile(join(ro, 'data'), 'read me\n');
  const r = await rootstrap(['run', '--bind', `${rw}:/mnt/rw`, '--ro-bind', `${ro}:/mnt/ro`, '--workdir', '/mnt/rw', '--hostname', 'builder', root, '--',
    'sh', '-c', 'echo written > out; cat /mnt/ro/data; echo x > /mnt/ro/new 2>/dev/null && echo RO-WRITABLE; hostname']);
  assert.is(r.code, 0, r.stderr);
  assert.is(await readFile(join(rw, 'out'), 'utf8'), 'written\n');
  assert.match(r.stdout, /read me/);
  assert.not.match(r.stdout, /RO-WRITABLE/);
  assert.match(r.stdout, /builder/);
});

run('--network none leaves only lo', async () => {
  const r = await rootstrap(['run', '--network', 'none', root, '--', 'cat', '/proc/net/dev']);
  assert.is(r.code, 0);
  assert.equal(r.stdout.trim().split('\n').slice(2).map((l) => l.trim().split(':')[0]), ['lo']);
});

run('SIGTERM stops the command, rootstrap exits promptly with its status, nothing stays', async () => {
  const token = String(800000 + Math.floor(Math.random() * 90000));
  const child = spawn(process.execPath, [BIN, 'run', root, '--', 'sleep', token], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    await new Promise((r) => setTimeout(r, 100));
    if ((await exec('pgrep', ['-f', `^sleep ${token}$`]).catch(() => ({ stdout: '' }))).stdout.trim()) break;
  }
  const t0 = Date.now();
  child.kill('SIGTERM');
  const code = await new Promise<number | null>((r) => child.on('close', (c) => r(c)));
  assert.ok(Date.now() - t0 < 5000, 'rootstrap run did not exit promptly');
  assert.is(code, 143);
  assert.is((await exec('pgrep', ['-f', `^sleep ${token}$`]).catch(() => ({ stdout: '' }))).stdout.trim(), '');
  assert.not.ok((await readFile('/proc/self/mounts', 'utf8')).includes(root));
});

run('errors: a missing target, a bad option, a command not found', async () => {
  const missing = await rootstrap(['run', join(work, 'nope'), '--', 'true']);
  assert.is(missing.code, 2);
  assert.match(missing.stderr, /^rootstrap: error: target .*nope is not a directory\nhint: /);
  const bad = await rootstrap(['run', '--network', 'maybe', root, 'true']);
  assert.is(bad.code, 2);
  assert.match(bad.stderr, /--network must be host or none/);
  const notFound = await rootstrap(['run', root, '--', '/bin/nonexistent']);
  assert.is(notFound.code, 127);
  assert.match(notFound.stderr, /cannot execute \/bin\/nonexistent/);
});

run.run();
