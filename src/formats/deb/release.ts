/**
 * Release/InRelease files: the signed root of an APT repository
 * (https://wiki.debian.org/DebianRepository/Format#A.22Release.22_files).
 */
import { VerifyError } from '../../errors.js';
import { parseParagraphs } from './control.js';

export interface ReleaseEntry {
  path: string;
  size: number;
  sha256: string;
}

export interface ReleaseFile {
  origin?: string;
  label?: string;
  suite?: string;
  codename?: string;
  version?: string;
  date?: Date;
  validUntil?: Date;
  architectures: string[];
  components: string[];
  acquireByHash: boolean;
  noSupportForArchitectureAll: boolean;
  /** SHA256 entries by path relative to the dists/SUITE directory. */
  files: Map<string, ReleaseEntry>;
}

/** RFC 2822 dates as apt writes them ("Sat, 10 May 2025 09:13:54 UTC"). */
export function parseReleaseDate(text: string, source: string, field: string): Date {
  const date = new Date(text.replace(/\bUTC\b/, 'GMT'));
  if (Number.isNaN(date.getTime())) {
    throw new VerifyError('release-date', `${source}: cannot read ${field} date ${JSON.stringify(text)}`, {
      hint: 'the Release file is malformed; use another mirror',
    });
  }
  return date;
}

export function parseRelease(text: string, source: string): ReleaseFile {
  const paragraph = parseParagraphs(text, source)[0];
  if (!paragraph) throw new VerifyError('release-empty', `${source} is empty`, { hint: 'check the mirror URL and suite' });
  const files = new Map<string, ReleaseEntry>();
  const sha = paragraph.get('SHA256');
  if (sha !== undefined) {
    for (const line of sha.split('\n')) {
      const parts = line.trim().split(/\s+/);
      if (parts.length !== 3) continue;
      const [hash, size, path] = parts as [string, string, string];
      if (!/^[0-9a-f]{64}$/i.test(hash) || !/^\d+$/.test(size)) {
        throw new VerifyError('release-sha256', `${source}: malformed SHA256 line ${JSON.stringify(line.trim())}`);
      }
      files.set(path, { path, size: Number(size), sha256: hash.toLowerCase() });
    }
  }
  const words = (v: string | undefined): string[] => (v ?? '').split(/\s+/).filter(Boolean);
  const release: ReleaseFile = {
    architectures: words(paragraph.get('Architectures')),
    components: words(paragraph.get('Components')),
    acquireByHash: paragraph.get('Acquire-By-Hash')?.toLowerCase() === 'yes',
    noSupportForArchitectureAll: paragraph.get('No-Support-for-Architecture-all')?.toLowerCase() === 'packages',
    files,
  };
  const set = <K extends 'origin' | 'label' | 'suite' | 'codename' | 'version'>(key: K, field: string): void => {
    const v = paragraph.get(field);
    if (v !== undefined) release[key] = v;
  };
  set('origin', 'Origin');
  set('label', 'Label');
  set('suite', 'Suite');
  set('codename', 'Codename');
  set('version', 'Version');
  const date = paragraph.get('Date');
  if (date !== undefined) release.date = parseReleaseDate(date, source, 'Date');
  const validUntil = paragraph.get('Valid-Until');
  if (validUntil !== undefined) release.validUntil = parseReleaseDate(validUntil, source, 'Valid-Until');
  return release;
}

/** apt refuses a Release whose Valid-Until has passed, or whose Date is in the future (apt-secure(8)). */
export function checkReleaseDates(release: ReleaseFile, source: string, now: Date, clockSkewMs = 10 * 60_000): void {
  if (release.validUntil && release.validUntil.getTime() < now.getTime()) {
    throw new VerifyError(
      'release-expired',
      `${source} expired: Valid-Until ${release.validUntil.toISOString()} is before now (${now.toISOString()})`,
      { hint: 'the mirror is stale or replaying an old Release file; use an up-to-date mirror' },
    );
  }
  if (release.date && release.date.getTime() > now.getTime() + clockSkewMs) {
    throw new VerifyError(
      'release-future',
      `${source} is not valid yet: Date ${release.date.toISOString()} is after now (${now.toISOString()})`,
      { hint: "check this machine's clock" },
    );
  }
}
