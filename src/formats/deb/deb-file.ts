/**
 * Reading .deb packages (deb(5)): an ar archive of debian-binary ("2.x"), control.tar[.gz|.xz|.zst] and
 * data.tar[.gz|.xz|.zst|.bz2], streamed member by member: the data tar goes from disk through the decoder
 * and tar-stream straight into the root writer, never into memory as a whole.
 */
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import * as tar from 'tar-stream';
import { UnpackError } from '../../errors.js';
import { type ArchiveEntry, type EntryType, type RootWriter, type WrittenEntry } from '../../unpack/writer.js';
import { type Compression, compressionOf, createDecoder } from '../compression.js';
import { readArMembers, type ArMember } from './ar.js';
import { type Paragraph, parseSingleParagraph } from './control.js';

export interface DebMember extends ArMember {
  compression: Compression;
}

export interface DebLayout {
  control: DebMember;
  data: DebMember;
}

export interface ControlFile {
  data: Buffer;
  mode: number;
}

export interface DebControl {
  paragraph: Paragraph;
  /** Every control member but `control` itself: maintainer scripts, md5sums, conffiles, triggers, shlibs... */
  files: Map<string, ControlFile>;
}

function bad(what: string, detail: string): UnpackError {
  return new UnpackError('bad-deb', `${what} is not a valid .deb: ${detail}`, {
    hint: 'the file is corrupt or not a Debian package; remove it from the cache and run again',
  });
}

export async function readDebLayout(path: string, what: string): Promise<DebLayout> {
  const members = await readArMembers(path, what);
  const first = members[0];
  if (!first || first.name !== 'debian-binary') throw bad(what, 'the first member is not debian-binary');
  const versionBuf = Buffer.alloc(Math.min(first.size, 16));
  const handle = await open(path, 'r');
  try {
    await handle.read(versionBuf, 0, versionBuf.length, first.offset);
  } finally {
    await handle.close();
  }
  if (!/^2\.\d+\n/.test(versionBuf.toString('latin1'))) throw bad(what, `unsupported format version ${JSON.stringify(versionBuf.toString('latin1').trim())}`);
  let control: DebMember | undefined;
  let data: DebMember | undefined;
  for (const m of members.slice(1)) {
    if (m.name.startsWith('_')) continue; // reserved for local use, ignored by dpkg
    const compression = compressionOf(m.name);
    if (m.name.startsWith('control.tar') && compression && !control) control = { ...m, compression };
    else if (m.name.startsWith('data.tar') && compression && control && !data) data = { ...m, compression };
    else throw bad(what, `unexpected member ${JSON.stringify(m.name)}`);
  }
  if (!control) throw bad(what, 'no control.tar member');
  if (!data) throw bad(what, 'no data.tar member after control.tar');
  return { control, data };
}

/** Decode one member into tar-stream and hand its entries to `consume`; a failure on either side stops both. */
async function extractMember(path: string, member: DebMember, label: string, consume: (extract: tar.Extract) => Promise<void>): Promise<void> {
  const extract = tar.extract();
  const source = createReadStream(path, { start: member.offset, end: member.offset + member.size - 1, highWaterMark: 256 * 1024 });
  const consuming = consume(extract).catch((error: unknown) => {
    extract.destroy(error as Error);
    throw error;
  });
  await Promise.all([pipeline(source, createDecoder(member.compression, label), extract), consuming]);
}

const CONTROL_NAME = /^[a-z0-9][a-z0-9_.+-]*$/;

export async function readDebControl(path: string, layout: DebLayout, what: string): Promise<DebControl> {
  const files = new Map<string, ControlFile>();
  await extractMember(path, layout.control, `${what} control.tar`, async (extract) => {
    for await (const entry of extract) {
      const chunks: Buffer[] = [];
      for await (const chunk of entry) chunks.push(chunk as Buffer);
      const name = entry.header.name.replace(/^\.?\//, '');
      if (entry.header.type === 'directory' && (name === '' || name === '.')) continue;
      if (entry.header.type !== 'file' || !CONTROL_NAME.test(name)) {
        throw bad(what, `unexpected control member ${JSON.stringify(entry.header.name)}`);
      }
      files.set(name, { data: Buffer.concat(chunks), mode: entry.header.mode ?? 0o644 });
    }
  });
  const controlFile = files.get('control');
  if (!controlFile) throw bad(what, 'control.tar has no control file');
  files.delete('control');
  return { paragraph: parseSingleParagraph(controlFile.data.toString('utf8'), `${what} control`), files };
}

const TYPES: Record<string, EntryType> = {
  file: 'file',
  'contiguous-file': 'file',
  directory: 'directory',
  symlink: 'symlink',
  link: 'hardlink',
  'character-device': 'char',
  'block-device': 'block',
  fifo: 'fifo',
};

/** Stream data.tar into the root. Returns what dpkg would list in info/PKG.list, in archive order. */
export async function unpackDebData(path: string, layout: DebLayout, writer: RootWriter, what: string): Promise<WrittenEntry[]> {
  const written: WrittenEntry[] = [];
  await extractMember(path, layout.data, `${what} data.tar`, async (extract) => {
    for await (const entry of extract) {
      const h = entry.header;
      const type = TYPES[h.type ?? 'file'];
      if (!type) {
        entry.resume();
        throw bad(what, `unsupported tar entry type ${h.type} for ${JSON.stringify(h.name)}`);
      }
      const archiveEntry: ArchiveEntry = {
        name: h.name,
        type,
        mode: h.mode ?? 0o644,
        uid: h.uid ?? 0,
        gid: h.gid ?? 0,
        mtime: Math.floor((h.mtime?.getTime() ?? 0) / 1000),
        size: h.size ?? 0,
      };
      if (h.linkname) archiveEntry.linkname = h.linkname;
      written.push(await writer.write(archiveEntry, entry as AsyncIterable<Buffer>, what));
    }
  });
  return written;
}
