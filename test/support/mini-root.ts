/** A minimal root for sandbox tests: the host's static busybox (Debian's busybox-static) as /bin/sh and friends. */
import { copyFile, mkdir, symlink } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export const BUSYBOX = '/bin/busybox';

export async function makeMiniRoot(root: string): Promise<void> {
  if (!existsSync(BUSYBOX)) throw new Error(`${BUSYBOX} is missing: apt-get install busybox-static (listed in .ci/apt-packages)`);
  for (const dir of ['bin', 'tmp', 'etc']) await mkdir(join(root, dir), { recursive: true });
  await copyFile(BUSYBOX, join(root, 'bin/busybox'));
  for (const applet of ['sh', 'cat', 'echo', 'ls', 'sleep', 'grep', 'hostname', 'id', 'test', 'readlink', 'wc', 'mount', 'ip']) {
    await symlink('busybox', join(root, 'bin', applet));
  }
}
