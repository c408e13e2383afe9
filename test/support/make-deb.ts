/**
 * Builds .deb files byte by byte for tests, including the hostile ones dpkg-deb refuses to build: an ar
 * archive (deb(5), ar(5): "!<arch>\n", 60-byte member headers, data padded to an even offset) of
 * debian-binary "2.0\n", control.tar.gz (a valid control file) and data.tar (plain or gzip), the tars made
 * with tar-stream's pack() so every header field (name, type, linkname, mode, uid/gid) is the caller's.
 */
import { gzipSync } from 'node:zlib';
import * as tar from 'tar-stream';

export interface TarEntry {
  /** The member name exactly as stored (`./usr/bin/x`, `../../escape`, `/abs`). Long names get a pax header. */
  name: string;
  type?: 'file' | 'directory' | 'symlink' | 'link' | 'character-device' | 'block-device' | 'fifo';
  /** Symlink target, or the member name a hardlink points to. */
  linkname?: string;
  content?: string | Buffer;
  mode?: number;
  uid?: number;
  gid?: number;
  devmajor?: number;
  devminor?: number;
}

export interface DebSpec {
  /** Fields of the control file, in order; Package, Version, Architecture, Maintainer, Description are added when missing. */
  control: Record<string, string> & { Package: string };
  data: TarEntry[];
  /** More control.tar members after ./control (maintainer scripts, or hostile names). */
  controlExtra?: TarEntry[];
  /** data.tar compression: `none` (data.tar) or `gz` (data.tar.gz). Default gz. */
  dataCompression?: 'none' | 'gz';
}

const MTIME = new Date(1_700_000_000 * 1000);

/** A tar archive of `entries`, every header as given. */
export async function makeTar(entries: readonly TarEntry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const chunk of pack) chunks.push(chunk as Buffer);
  })();
  for (const e of entries) {
    const type = e.type ?? 'file';
    const header: Partial<tar.Header> & { name: string } = {
      name: e.name,
      type,
      mode: e.mode ?? (type === 'directory' ? 0o755 : type === 'symlink' ? 0o777 : 0o644),
      uid: e.uid ?? 0,
      gid: e.gid ?? 0,
      uname: 'root',
      gname: 'root',
      mtime: MTIME,
    };
    if (e.linkname !== undefined) header.linkname = e.linkname;
    if (e.devmajor !== undefined) header.devmajor = e.devmajor;
    if (e.devminor !== undefined) header.devminor = e.devminor;
    const body = type === 'file' ? Buffer.from(e.content ?? '') : Buffer.alloc(0);
    await new Promise<void>((resolve, reject) => pack.entry(header, body, (err) => (err ? reject(err) : resolve())));
  }
  pack.finalize();
  await collected;
  return Buffer.concat(chunks);
}

function arHeader(name: string, size: number): Buffer {
  const field = (value: string, width: number): string => {
    if (value.length > width) throw new Error(`ar field ${JSON.stringify(value)} is wider than ${width}`);
    return value.padEnd(width, ' ');
  };
  const header = field(name, 16) + field('1700000000', 12) + field('0', 6) + field('0', 6) + field('100644', 8) + field(String(size), 10) + '`\n';
  const buf = Buffer.from(header, 'latin1');
  if (buf.length !== 60) throw new Error('ar header is not 60 bytes');
  return buf;
}

/** An ar archive of `members`, in order. */
export function makeAr(members: ReadonlyArray<[string, Buffer]>): Buffer {
  const parts: Buffer[] = [Buffer.from('!<arch>\n', 'latin1')];
  for (const [name, data] of members) {
    parts.push(arHeader(name, data.length), data);
    if (data.length % 2 === 1) parts.push(Buffer.from('\n'));
  }
  return Buffer.concat(parts);
}

/** The control file text: the given fields, with the mandatory ones filled in. */
export function controlText(fields: DebSpec['control']): string {
  const { Package, ...rest } = fields;
  const all: Record<string, string> = {
    Package,
    Version: '1.0',
    Architecture: 'amd64',
    Maintainer: 'rootstrap tests <tests@rootstrap.invalid>',
    ...rest,
  };
  all.Description ??= `rootstrap hostile test package\n a package made by test/support/make-deb.ts`;
  const lines = Object.entries(all).map(([k, v]) => `${k}: ${v}`);
  return lines.join('\n') + '\n';
}

export async function makeDeb(spec: DebSpec): Promise<Buffer> {
  const control = await makeTar([
    { name: './', type: 'directory' },
    { name: './control', content: controlText(spec.control) },
    ...(spec.controlExtra ?? []),
  ]);
  const data = await makeTar(spec.data);
  const compressed = (spec.dataCompression ?? 'gz') === 'gz';
  return makeAr([
    ['debian-binary', Buffer.from('2.0\n')],
    ['control.tar.gz', gzipSync(control)],
    [compressed ? 'data.tar.gz' : 'data.tar', compressed ? gzipSync(data) : data],
  ]);
}
