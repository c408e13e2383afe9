/** bookworm buildd (minbase + build-essential) bootstraps with the reduced capabilities, and its compiler works. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { defaultCacheDir } from '../../src/fetch/cache.js';
import { bootstrap, type BootstrapResult } from '../../src/pipeline.js';
import { runInRoot } from '../../src/sandbox/helper.js';

const buildd = suite('bookworm buildd, end to end');
let work = '';
let root = '';
let result: BootstrapResult;

buildd.before(async () => {
  work = await mkdtemp(join(tmpdir(), 'rootstrap-buildd-'));
  root = join(work, 'root');
  result = await bootstrap({ suite: 'bookworm', target: root, variant: 'buildd', cacheDir: process.env.ROOTSTRAP_TEST_CACHE ?? defaultCacheDir() });
});

buildd.after(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

buildd('build-essential is installed and dpkg --audit is clean', async () => {
  assert.ok(result.packages.some((p) => p.name === 'build-essential'));
  const r = await runInRoot(root, ['/bin/sh', '-c', "dpkg --audit && dpkg-query -W -f '${db:Status-Abbrev}\\n' | sort -u"], { env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' } });
  assert.is(r.status, 0, r.output);
  assert.is(r.output.trim(), 'ii');
});

buildd('a C program compiles and runs inside the root', async () => {
  await writeFile(join(root, 'tmp/hello.c'), '#include <stdio.h>\nint main(void) { puts("built inside"); return 0; }\n');
  const r = await runInRoot(root, ['/bin/sh', '-c', 'cd /tmp && gcc -O2 -o hello hello.c && ./hello'], { env: { PATH: '/usr/bin:/bin', LC_ALL: 'C' } });
  assert.is(r.status, 0, r.output);
  assert.match(r.output, /built inside/);
});

buildd.run();
