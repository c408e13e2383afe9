/**
 * The signed fixture repository of fixtures/deb-repo (generate.sh, reindex.sh) and a recipe family for it.
 */
import { execFileSync } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const FIXTURES = resolve(dirname(fileURLToPath(import.meta.url)), '../../fixtures/deb-repo');
export const GENERATE = resolve(FIXTURES, 'generate.sh');
export const REINDEX = resolve(FIXTURES, 'reindex.sh');

/** Build the repository into `dir`; with `gnupgHome`, the archive key is kept there for reindex(). */
export function generateFixtureRepo(dir: string, gnupgHome?: string): void {
  execFileSync('bash', [GENERATE, dir, ...(gnupgHome ? [gnupgHome] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
}

/** Re-index and re-sign `dir` with the key in `gnupgHome`; `packagesAsIs` keeps a hand-written Packages file. */
export function reindexFixtureRepo(dir: string, gnupgHome: string, packagesAsIs = false): void {
  execFileSync('bash', [REINDEX, ...(packagesAsIs ? ['--packages-as-is'] : []), dir, gnupgHome], { stdio: ['ignore', 'pipe', 'inherit'] });
}

/** Stop the gpg-agent a kept GnuPG home started (before removing the home). */
export function stopGpgAgent(gnupgHome: string): void {
  try {
    execFileSync('gpgconf', ['--kill', 'all'], { env: { ...process.env, GNUPGHOME: gnupgHome }, stdio: 'ignore' });
  } catch {
    // no agent, or gpgconf missing: nothing to stop
  }
}

/** A recipe family for the fixture: vendor "fixture", keyrings -> `keyring`, variants extract, essential, required. */
export function fixtureFamily(keyring: string): object {
  return {
    $comment: 'rootstrap integration tests: the fixture repository of fixtures/deb-repo/generate.sh',
    vendor: 'fixture',
    name: 'rootstrap fixture',
    format: 'deb',
    components: ['main'],
    keyrings: [keyring],
    hostSources: { pathSuffixes: ['/rootstrap-fixture'] },
    defaultVariant: 'required',
    variants: {
      extract: { selectors: [], followDependencies: false, configure: false },
      essential: { selectors: [{ essential: true }], configure: false },
      required: { selectors: [{ essential: true }, { priority: 'required' }], configure: false },
    },
    mergedUsr: { links: ['bin', 'sbin', 'lib'], archLinks: { amd64: ['lib64'] } },
    configure: {},
    releases: [{ codename: 'fixture', mergedUsr: true }],
  };
}
