/**
 * Packages indexes: one paragraph per binary package version
 * (https://wiki.debian.org/DebianRepository/Format#A.22Packages.22_Indices).
 */
import { VerifyError } from '../../errors.js';
import { parseParagraphs } from './control.js';

export interface PackageRecord {
  name: string;
  version: string;
  architecture: string;
  multiArch?: 'same' | 'foreign' | 'allowed' | 'no';
  priority?: string;
  section?: string;
  essential: boolean;
  depends?: string;
  preDepends?: string;
  provides?: string;
  conflicts?: string;
  breaks?: string;
  /** Path of the .deb relative to the mirror root. */
  filename: string;
  size: number;
  sha256: string;
  /** Which component's index listed it. */
  component: string;
}

/** The fields a bootstrap needs: parsing only these halves the parse time of a 50 MB index. */
const WANTED = new Set([
  'package', 'version', 'architecture', 'multi-arch', 'priority', 'section', 'essential', 'depends', 'pre-depends',
  'provides', 'conflicts', 'breaks', 'filename', 'size', 'sha256',
]);

const SAFE_NAME = /^[a-z0-9][a-z0-9+.-]*$/;
const SAFE_FILENAME = /^[A-Za-z0-9][A-Za-z0-9+.~_%:\/-]*$/;

export function parsePackagesIndex(text: string, component: string, source: string): PackageRecord[] {
  const records: PackageRecord[] = [];
  for (const p of parseParagraphs(text, source, WANTED)) {
    const name = p.get('Package');
    const version = p.get('Version');
    const architecture = p.get('Architecture');
    const filename = p.get('Filename');
    const size = p.get('Size');
    const sha256 = p.get('SHA256');
    if (!name || !version || !architecture || !filename || !size || !sha256) {
      throw new VerifyError('index-record', `${source}: a paragraph lacks Package, Version, Architecture, Filename, Size or SHA256 (near ${JSON.stringify(name ?? '?')})`, {
        hint: 'the index is incomplete or not a Packages file; use another mirror',
      });
    }
    // A hostile index must not be able to name files outside the pool, nor packages with path characters:
    // names become paths under /var/lib/dpkg/info (CVE-2022-1664 class of bugs).
    if (!SAFE_NAME.test(name)) {
      throw new VerifyError('index-name', `${source}: invalid package name ${JSON.stringify(name)}`, { hint: 'the index is corrupt or hostile; use another mirror' });
    }
    if (!SAFE_FILENAME.test(filename) || filename.split('/').some((c) => c === '..' || c === '.' || c === '')) {
      throw new VerifyError('index-filename', `${source}: package ${name} has an unsafe Filename ${JSON.stringify(filename)}`, { hint: 'the index is corrupt or hostile; use another mirror' });
    }
    if (!/^[0-9a-f]{64}$/i.test(sha256) || !/^\d+$/.test(size)) {
      throw new VerifyError('index-hash', `${source}: package ${name} has a malformed SHA256 or Size`, { hint: 'the index is corrupt; use another mirror' });
    }
    const record: PackageRecord = {
      name,
      version,
      architecture,
      essential: p.get('Essential')?.toLowerCase() === 'yes',
      filename,
      size: Number(size),
      sha256: sha256.toLowerCase(),
      component,
    };
    const ma = p.get('Multi-Arch')?.toLowerCase();
    if (ma === 'same' || ma === 'foreign' || ma === 'allowed' || ma === 'no') record.multiArch = ma;
    const optional = [
      ['priority', 'Priority'], ['section', 'Section'], ['depends', 'Depends'], ['preDepends', 'Pre-Depends'], ['provides', 'Provides'],
      ['conflicts', 'Conflicts'], ['breaks', 'Breaks'],
    ] as const;
    for (const [key, field] of optional) {
      const v = p.get(field);
      if (v !== undefined) record[key] = v;
    }
    records.push(record);
  }
  return records;
}
