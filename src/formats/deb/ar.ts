/**
 * The ar archive format of .deb files (deb(5), ar(5)): "!<arch>\n", then members with a 60-byte header
 * each, data padded to an even offset. Written here rather than taken from ar-async (the design card's
 * choice): field-notes.md found ar-async unmaintained since 2014, using `new Buffer`, skipping the magic
 * check, throwing uncaught on a malformed header and accepting truncated members. This reader validates
 * everything and never reads a member's data: it returns offsets to stream from.
 */
import { open } from 'node:fs/promises';
import { UnpackError } from '../../errors.js';

export interface ArMember {
  name: string;
  offset: number;
  size: number;
}

const MAGIC = '!<arch>\n';
const HEADER = 60;

export async function readArMembers(path: string, what: string): Promise<ArMember[]> {
  const handle = await open(path, 'r');
  try {
    const { size: fileSize } = await handle.stat();
    const bad = (detail: string): UnpackError =>
      new UnpackError('bad-deb', `${what} is not a valid .deb: ${detail}`, { hint: 'the file is corrupt or not a Debian package; remove it from the cache and run again' });
    const magic = Buffer.alloc(MAGIC.length);
    await handle.read(magic, 0, MAGIC.length, 0);
    if (magic.toString('latin1') !== MAGIC) throw bad('no ar magic');
    const members: ArMember[] = [];
    let pos = MAGIC.length;
    const header = Buffer.alloc(HEADER);
    while (pos < fileSize) {
      const { bytesRead } = await handle.read(header, 0, HEADER, pos);
      if (bytesRead !== HEADER) throw bad(`truncated member header at offset ${pos}`);
      if (header[58] !== 0x60 || header[59] !== 0x0a) throw bad(`bad member header terminator at offset ${pos}`);
      let name = header.toString('latin1', 0, 16).trimEnd();
      // GNU ar terminates names with '/'; .deb members never use the long-name table.
      if (name.endsWith('/')) name = name.slice(0, -1);
      const sizeText = header.toString('latin1', 48, 58).trim();
      if (!/^\d+$/.test(sizeText)) throw bad(`bad size field ${JSON.stringify(sizeText)} for member ${JSON.stringify(name)}`);
      const size = Number(sizeText);
      const offset = pos + HEADER;
      if (offset + size > fileSize) throw bad(`member ${JSON.stringify(name)} is truncated (${size} bytes declared, ${fileSize - offset} present)`);
      if (!/^[A-Za-z0-9_.+-]+$/.test(name)) throw bad(`unexpected member name ${JSON.stringify(name)}`);
      members.push({ name, offset, size });
      pos = offset + size + (size % 2);
    }
    return members;
  } finally {
    await handle.close();
  }
}
