/**
 * The dpkg database, written as dpkg writes it after `dpkg --unpack` (dpkg(1), /var/lib/dpkg):
 * status (each package "install ok unpacked", with its control fields and Conffiles), info/PKG.list (every
 * path of data.tar in archive order, "/." for the root), and every control member but `control` copied to
 * info/PKG.NAME (md5sums, conffiles, maintainer scripts, triggers, shlibs, symbols, templates...).
 * Multi-Arch: same packages use PKG:ARCH as the info file prefix. dpkg --configure inside the target then
 * finishes the job, so the result is dpkg's own.
 */
import { readFile } from 'node:fs/promises';
import type { ArchiveEntry, RootWriter } from '../../unpack/writer.js';
import { md5 } from '../../verify/hash.js';
import { type ControlField, formatParagraph } from './control.js';
import type { DebControl } from './deb-file.js';

export const DPKG_DIRS = ['var', 'var/lib', 'var/lib/dpkg', 'var/lib/dpkg/info', 'var/lib/dpkg/updates', 'var/lib/dpkg/triggers', 'var/lib/dpkg/alternatives', 'var/lib/dpkg/parts'];

export interface UnpackedPackage {
  name: string;
  arch: string;
  multiArchSame: boolean;
  control: DebControl;
  /** .list entries, archive order. */
  listPaths: string[];
  /** The archive's overrides (Packages index), which dpkg records in place of the .deb's own values. */
  overrides: { priority?: string; section?: string };
  /** Conffile path -> MD5 of the file as unpacked. */
  conffiles: Array<[string, string]>;
}

/** info/ file prefix: PKG, or PKG:ARCH for Multi-Arch: same (dpkg's pkg_infodb_get_file). */
export function infoPrefix(pkg: Pick<UnpackedPackage, 'name' | 'arch' | 'multiArchSame'>): string {
  return pkg.multiArchSame ? `${pkg.name}:${pkg.arch}` : pkg.name;
}

/** Conffile names from the conffiles control member; dpkg 1.20.1+ flags ("remove-on-upgrade") come first. */
export function parseConffiles(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '') continue;
    const words = t.split(/\s+/);
    const path = words[words.length - 1]!;
    if (words.length > 1 && words.includes('remove-on-upgrade')) continue; // not installed, not tracked
    if (path.startsWith('/')) out.push(path);
  }
  return out;
}

/** MD5 of each conffile as written, by reading the real path recorded at unpack. */
export async function hashConffiles(names: readonly string[], realPaths: ReadonlyMap<string, string>): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  for (const name of names) {
    const real = realPaths.get(name);
    // A conffile the package lists but does not ship is odd but legal: record it as dpkg does a conffile it has
    // not installed yet ("newconffile"), so dpkg --configure does not compare it with anything.
    out.push([name, real ? md5(await readFile(real)) : 'newconffile']);
  }
  return out;
}

/** The status stanza of an unpacked, not yet configured package. */
export function statusStanza(pkg: UnpackedPackage): string {
  const fields: ControlField[] = [];
  const control = pkg.control.paragraph.fields;
  const first = control.find((f) => f.name.toLowerCase() === 'package');
  fields.push({ name: 'Package', value: first?.value ?? pkg.name });
  fields.push({ name: 'Status', value: 'install ok unpacked' });
  let description: ControlField | undefined;
  for (const f of control) {
    const lower = f.name.toLowerCase();
    if (lower === 'package' || lower === 'status') continue;
    if (lower === 'priority' && pkg.overrides.priority) {
      fields.push({ name: f.name, value: pkg.overrides.priority });
      continue;
    }
    if (lower === 'section' && pkg.overrides.section) {
      fields.push({ name: f.name, value: pkg.overrides.section });
      continue;
    }
    if (lower === 'description') {
      description = f;
      continue;
    }
    fields.push(f);
  }
  if (pkg.conffiles.length > 0) {
    fields.push({ name: 'Conffiles', value: '\n' + pkg.conffiles.map(([p, h]) => ` ${p} ${h}`).join('\n') });
  }
  if (description) fields.push(description);
  return formatParagraph(fields);
}

const now = (): number => Math.floor(Date.now() / 1000);

function fileEntry(name: string, mode: number): ArchiveEntry {
  return { name, type: 'file', mode, uid: 0, gid: 0, mtime: now(), size: 0 };
}

async function* once(data: Buffer): AsyncIterable<Buffer> {
  yield data;
}

/** Write a small file into the target through the same resolve-in-root writer as package contents. */
export async function writeTargetFile(writer: RootWriter, path: string, data: string | Buffer, mode = 0o644): Promise<void> {
  const buf = typeof data === 'string' ? Buffer.from(data) : data;
  await writer.write({ ...fileEntry(path, mode), size: buf.length }, once(buf), 'rootstrap');
}

/** Write info/ files and the status file for all unpacked packages. */
export async function writeDpkgDatabase(writer: RootWriter, packages: readonly UnpackedPackage[]): Promise<void> {
  for (const pkg of packages) {
    const prefix = infoPrefix(pkg);
    await writeTargetFile(writer, `var/lib/dpkg/info/${prefix}.list`, pkg.listPaths.join('\n') + '\n');
    for (const [name, file] of pkg.control.files) {
      // Scripts keep their executable mode; data files are 0644, as dpkg installs them.
      const mode = (file.mode & 0o111) !== 0 ? 0o755 : 0o644;
      await writeTargetFile(writer, `var/lib/dpkg/info/${prefix}.${name}`, file.data, mode);
    }
  }
  await writeTargetFile(writer, 'var/lib/dpkg/info/format', '1\n');
  await writeTargetFile(writer, 'var/lib/dpkg/status', packages.map(statusStanza).join('\n'));
  await writeTargetFile(writer, 'var/lib/dpkg/available', '');
  await writeTargetFile(writer, 'var/lib/dpkg/diversions', '');
  // debootstrap's setup_dselect_method: dselect's access method, read by nothing else.
  await writeTargetFile(writer, 'var/lib/dpkg/cmethopt', 'apt apt\n');
}
