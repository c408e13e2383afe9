/**
 * Decompression for indexes and package members. gzip is decoded in-process (node:zlib); xz, zstd and
 * bzip2 by the host's own decoders (xz-utils, zstd, bzip2), spawned as filters.
 *
 * Why not lzma-native (the design card's choice): field-notes.md measured it ~1.7x slower than xz 5.4 on
 * this machine, and it bundles liblzma 5.2.3 from 2017. Node 20 has no zstd in zlib, and fzstd is 3-10x
 * slower than the zstd CLI. The CLIs are present on every Debian-like host (xz-utils is Priority: required).
 */
import { spawn } from 'node:child_process';
import { Duplex, PassThrough } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { UnpackError } from '../errors.js';

export type Compression = 'none' | 'gz' | 'xz' | 'zst' | 'bz2';

/** The compression named by a file name's suffix (`data.tar.xz`, `Packages.gz`). */
export function compressionOf(name: string): Compression | undefined {
  if (name.endsWith('.gz')) return 'gz';
  if (name.endsWith('.xz')) return 'xz';
  if (name.endsWith('.zst')) return 'zst';
  if (name.endsWith('.bz2')) return 'bz2';
  if (/\.tar$|Packages$|Release$/.test(name)) return 'none';
  return undefined;
}

const COMMANDS: Record<'xz' | 'zst' | 'bz2', [string, string[]]> = {
  xz: ['xz', ['--decompress', '--stdout', '--single-stream', '-T1']],
  zst: ['zstd', ['--decompress', '--stdout', '--quiet']],
  bz2: ['bzip2', ['--decompress', '--stdout']],
};

/** A Duplex that decodes `kind`; `what` names the input in errors. */
export function createDecoder(kind: Compression, what: string): Duplex {
  if (kind === 'none') return new PassThrough();
  if (kind === 'gz') return createGunzip();
  const [command, args] = COMMANDS[kind];
  return spawnFilter(command, args, what);
}

function spawnFilter(command: string, args: string[], what: string): Duplex {
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const stderr: Buffer[] = [];
  child.stderr.on('data', (c: Buffer) => stderr.push(c));
  // Writes go to the decoder's stdin; reads come from its stdout, with backpressure both ways.
  const duplex = new Duplex({
    write(chunk: Buffer, _encoding, callback) {
      if (child.stdin.write(chunk)) callback();
      else child.stdin.once('drain', () => callback());
    },
    final(callback) {
      child.stdin.end();
      callback();
    },
    read() {
      child.stdout.resume();
    },
    destroy(error, callback) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      callback(error);
    },
  });
  child.stdout.on('data', (chunk: Buffer) => {
    if (!duplex.push(chunk)) child.stdout.pause();
  });
  child.stdin.on('error', () => {
    /* EPIPE when the decoder exits early: reported through its exit status below */
  });
  child.on('error', (error: NodeJS.ErrnoException) => {
    duplex.destroy(new UnpackError('decoder-missing', `cannot run ${command} to decode ${what}: ${error.message}`, {
      cause: error,
      hint: `install ${command === 'zstd' ? 'zstd' : command === 'xz' ? 'xz-utils' : 'bzip2'} on this host`,
    }));
  });
  child.on('close', (code) => {
    if (duplex.destroyed) return;
    if (code === 0) {
      duplex.push(null);
      return;
    }
    const detail = Buffer.concat(stderr).toString().trim().split('\n').pop() ?? '';
    duplex.destroy(new UnpackError('corrupt-compression', `${what} is not valid ${command} data: ${detail || `exit status ${code}`}`, {
      hint: 'the package or index is corrupt; remove it from the cache and run again, or use another mirror',
    }));
  });
  return duplex;
}

/** Decode a whole buffer (indexes). */
export async function decompressBuffer(data: Buffer, kind: Compression, what: string): Promise<Buffer> {
  if (kind === 'none') return data;
  const decoder = createDecoder(kind, what);
  const chunks: Buffer[] = [];
  const done = (async () => {
    for await (const chunk of decoder as AsyncIterable<Buffer>) chunks.push(chunk);
  })();
  decoder.end(data);
  try {
    await done;
  } catch (error) {
    if (error instanceof UnpackError) throw error;
    throw new UnpackError('corrupt-compression', `${what} could not be decoded: ${(error as Error).message}`, { cause: error });
  }
  return Buffer.concat(chunks);
}
