/**
 * The layout of an APT archive (https://wiki.debian.org/DebianRepository/Format): which files to fetch,
 * under which URLs. Pure functions; the pipeline does the I/O.
 */
import { VerifyError } from '../../errors.js';
import type { Compression } from '../compression.js';
import type { ReleaseEntry, ReleaseFile } from './release.js';

export function distsUrl(mirror: string, suite: string, file: string): string {
  return `${mirror}/dists/${suite}/${file}`;
}

export interface IndexChoice {
  component: string;
  entry: ReleaseEntry;
  compression: Compression;
  url: string;
}

/** Preference among the compressed forms a Release lists: gzip decodes fastest in-process here (field-notes.md). */
const PREFERENCE: Array<[string, Compression]> = [['.gz', 'gz'], ['.xz', 'xz'], ['', 'none'], ['.zst', 'zst'], ['.bz2', 'bz2']];

/** Pick the Packages index of each component for `arch`, verified to be listed (with SHA256) in the Release. */
export function choosePackagesIndexes(mirror: string, suite: string, release: ReleaseFile, components: readonly string[], arch: string, source: string): IndexChoice[] {
  const out: IndexChoice[] = [];
  for (const component of components) {
    if (release.components.length > 0 && !release.components.includes(component) && !release.components.some((c) => c.endsWith(`/${component}`))) {
      throw new VerifyError('no-component', `${source} has no component ${component} (it has ${release.components.join(', ')})`, { hint: 'fix --components' });
    }
    if (release.architectures.length > 0 && !release.architectures.includes(arch)) {
      throw new VerifyError('no-arch', `${source} has no architecture ${arch} (it has ${release.architectures.join(', ')})`, { hint: 'fix --arch, or use a mirror that carries it (ports)' });
    }
    const base = `${component}/binary-${arch}/Packages`;
    let found: IndexChoice | undefined;
    for (const [suffix, compression] of PREFERENCE) {
      const entry = release.files.get(base + suffix);
      if (!entry) continue;
      // Acquire-By-Hash: fetch the index by its hash so a mirror update between Release and index cannot race us.
      const path = release.acquireByHash ? `${component}/binary-${arch}/by-hash/SHA256/${entry.sha256}` : base + suffix;
      found = { component, entry, compression, url: distsUrl(mirror, suite, path) };
      break;
    }
    if (!found) {
      throw new VerifyError('no-index', `${source} lists no SHA256 for ${base}(.gz|.xz)`, { hint: 'the mirror does not carry this component and architecture, or its Release file is incomplete' });
    }
    out.push(found);
  }
  return out;
}

/** apt's file name for a downloaded list (/var/lib/apt/lists): the URI without scheme, "/" -> "_". */
export function aptListName(url: string): string {
  return url.replace(/^[a-z]+:\/\//, '').replace(/\//g, '_');
}
