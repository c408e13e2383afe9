/**
 * HTTP with undici: kept-alive connections, one DNS lookup per host, a read timeout, retries with backoff for
 * retryable failures only, and every body checked against the size and SHA256 the signed chain promised
 * before it is used or cached.
 *
 * field-notes.md: this machine's resolver drops bursts of lookups and glibc retries after 5 s, so every
 * host is resolved once and the answer reused (memoizedLookup); 4-8 connections saturate the mirror.
 */
import { createHash } from 'node:crypto';
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { createWriteStream } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Agent, interceptors, type Dispatcher, request } from 'undici';
import { FetchError, VerifyError, errnoOf } from '../errors.js';

export interface Expected {
  size?: number;
  sha256?: string;
}

export interface FetchProgress {
  url: string;
  bytes: number;
}

export interface HttpClientOptions {
  connections?: number;
  /** A body that sends nothing for this long fails (retryably): a stall is an error, not a hang. */
  readTimeoutMs?: number;
  retries?: number;
  /** First backoff; doubled each time. */
  backoffMs?: number;
  signal?: AbortSignal;
  onBytes?: (progress: FetchProgress) => void;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** One lookup per (host, options): later connections reuse the answer. */
export function memoizedLookup(): (hostname: string, options: LookupOptions, callback: LookupCallback) => void {
  const cache = new Map<string, Promise<LookupAddress[]>>();
  return (hostname, options, callback) => {
    let entry = cache.get(hostname);
    if (!entry) {
      entry = new Promise<LookupAddress[]>((resolve, reject) =>
        dnsLookup(hostname, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses))),
      );
      cache.set(hostname, entry);
      entry.catch(() => cache.delete(hostname));
    }
    entry.then(
      (addresses) => {
        const family = options.family === 4 || options.family === 6 ? options.family : undefined;
        const usable = family ? addresses.filter((a) => a.family === family) : addresses;
        if (options.all) callback(null, usable);
        else if (usable[0]) callback(null, usable[0].address, usable[0].family);
        else callback(Object.assign(new Error(`no address for ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
      },
      (err: NodeJS.ErrnoException) => callback(err, '', 0),
    );
  };
}

/** A body whose size no signed file states (InRelease, Release.gpg) is cut off here: a mirror cannot fill memory. */
const MAX_UNSIZED_BODY = 64 * 1024 * 1024;

const RETRYABLE_CODES = new Set([
  'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN', 'ENETUNREACH', 'EHOSTUNREACH',
  'UND_ERR_SOCKET', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'UND_ERR_CLOSED',
]);

function classify(error: unknown, url: string): FetchError {
  if (error instanceof FetchError) return error;
  const code = errnoOf(error) ?? 'unknown';
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'UND_ERR_INVALID_ARG' || /redirect|URL protocol/i.test(message)) {
    // undici refuses redirect loops and redirects to non-HTTP URLs (file://...): never retried.
    return new FetchError('bad-redirect', `download of ${url} failed: the mirror redirected to an unusable location (${message.split('.')[0]})`, {
      cause: error,
      hint: 'the mirror redirects in a loop or away from HTTP; use another mirror URL',
    });
  }
  return new FetchError('network', `download of ${url} failed: ${message} (${code})`, {
    cause: error,
    retryable: RETRYABLE_CODES.has(code),
    hint: code === 'ENOTFOUND' ? 'check the mirror URL and the network' : 'check the network and the mirror, then run again: verified files are kept in the cache',
  });
}

export class HttpClient {
  private readonly dispatcher: Dispatcher;
  private readonly agent: Agent;
  private readonly retries: number;
  private readonly backoffMs: number;

  constructor(private readonly options: HttpClientOptions = {}) {
    this.agent = new Agent({
      connections: options.connections ?? 6,
      pipelining: 1,
      keepAliveTimeout: 30_000,
      headersTimeout: options.readTimeoutMs ?? 30_000,
      bodyTimeout: options.readTimeoutMs ?? 30_000,
      connect: { lookup: memoizedLookup() as never, timeout: 15_000 },
    });
    // Redirects are followed (mirrors redirect to mirrors); every body is verified against the signed chain
    // whatever host served it (apt CVE-2019-3462 was about trusting what a redirect said, not where it went).
    this.dispatcher = this.agent.compose(interceptors.redirect({ maxRedirections: 5 }));
    this.retries = options.retries ?? 4;
    this.backoffMs = options.backoffMs ?? 250;
  }

  async close(): Promise<void> {
    await this.agent.destroy();
  }

  /** Fetch a whole body into memory (indexes, Release files), checked against `expected`. */
  async fetchBuffer(url: string, expected: Expected = {}, what = url): Promise<Buffer> {
    return this.withRetries(url, async () => {
      const chunks: Buffer[] = [];
      await this.stream(url, expected, what, (chunk) => {
        chunks.push(chunk);
      });
      return Buffer.concat(chunks);
    });
  }

  /** Fetch into `dest` atomically: the file appears only once its size and SHA256 are verified. */
  async fetchFile(url: string, dest: string, expected: Expected, what = url): Promise<void> {
    await mkdir(dirname(dest), { recursive: true });
    const tmp = `${dest}.part-${process.pid}-${Math.random().toString(36).slice(2)}`;
    try {
      await this.withRetries(url, async () => {
        const out = createWriteStream(tmp, { mode: 0o644 });
        const opened = new Promise<void>((resolve, reject) => {
          out.once('open', () => resolve());
          out.once('error', reject);
        });
        await opened;
        try {
          await this.stream(url, expected, what, (chunk) => {
            if (!out.write(chunk)) return new Promise<void>((resolve) => out.once('drain', resolve));
            return undefined;
          });
        } finally {
          await new Promise<void>((resolve, reject) => out.end((err?: Error | null) => (err ? reject(err) : resolve())));
        }
      });
      await rename(tmp, dest);
    } catch (error) {
      await rm(tmp, { force: true });
      throw error;
    }
  }

  private async withRetries<T>(url: string, attempt: () => Promise<T>): Promise<T> {
    for (let n = 0; ; n++) {
      this.options.signal?.throwIfAborted();
      try {
        return await attempt();
      } catch (error) {
        if (this.options.signal?.aborted) throw this.options.signal.reason;
        const retryable = (error instanceof FetchError || error instanceof VerifyError) && error.retryable;
        if (!retryable || n >= this.retries) {
          if (error instanceof FetchError && n > 0) {
            throw new FetchError(error.code, `${error.message}, after ${n + 1} attempts`, { cause: error.cause, ...(error.hint ? { hint: error.hint } : {}) });
          }
          throw error;
        }
        await new Promise((resolve) => setTimeout(resolve, this.backoffMs * 2 ** n));
      }
    }
  }

  private async stream(url: string, expected: Expected, what: string, sink: (chunk: Buffer) => Promise<void> | undefined | void): Promise<void> {
    let response: Dispatcher.ResponseData;
    try {
      response = await request(url, { dispatcher: this.dispatcher, signal: this.options.signal, headers: { 'user-agent': 'rootstrap' } });
    } catch (error) {
      throw classify(error, url);
    }
    const { statusCode, body } = response;
    if (statusCode >= 300 && statusCode < 400) {
      body.resume();
      throw new FetchError('redirect', `download of ${what} failed: too many redirects (HTTP ${statusCode}) starting at ${url}`, {
        hint: 'the mirror redirects in a loop or too often; use another mirror URL',
      });
    }
    if (statusCode !== 200) {
      body.resume();
      const retryable = statusCode >= 500 || statusCode === 429 || statusCode === 408;
      throw new FetchError(statusCode === 404 ? 'not-found' : 'http-status', `download of ${what} failed: HTTP ${statusCode} from ${url}`, {
        retryable,
        hint: statusCode === 404 ? 'the mirror does not have this file: check the mirror URL, the suite and the architecture' : 'the mirror had an error; try again later or use another mirror',
      });
    }
    const hash = createHash('sha256');
    let size = 0;
    try {
      for await (const chunk of body as AsyncIterable<Buffer>) {
        size += chunk.length;
        if (size > (expected.size ?? MAX_UNSIZED_BODY)) {
          body.destroy();
          throw new VerifyError('size-mismatch', `${what}: the mirror sent more than the ${expected.size ?? MAX_UNSIZED_BODY} bytes ${expected.size === undefined ? 'a Release file may have' : 'the signed index promised'} (${url})`, {
            retryable: true,
            hint: 'the mirror is corrupt or hostile; use another mirror',
          });
        }
        hash.update(chunk);
        this.options.onBytes?.({ url, bytes: chunk.length });
        const wait = sink(chunk);
        if (wait) await wait;
      }
    } catch (error) {
      if (error instanceof VerifyError) throw error;
      throw classify(error, url);
    }
    if (expected.size !== undefined && size !== expected.size) {
      throw new FetchError('truncated', `download of ${what} was truncated: got ${size} of ${expected.size} bytes from ${url}`, {
        retryable: true,
        hint: 'the connection broke; run again, the cache keeps what was verified',
      });
    }
    const digest = hash.digest('hex');
    if (expected.sha256 !== undefined && digest !== expected.sha256) {
      throw new VerifyError('hash-mismatch', `SHA256 mismatch for ${what}: expected ${expected.sha256}, got ${digest} (${url})`, {
        retryable: true,
        hint: 'the mirror served a different file than its signed index describes; use another mirror, or run again if it was a broken transfer',
      });
    }
  }
}
