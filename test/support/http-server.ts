/**
 * A loopback HTTP server for the integration tests: serves a directory on 127.0.0.1 (port chosen by the
 * kernel), records every request path, and injects faults per path.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join, normalize } from 'node:path';

export type Fault =
  | { kind: 'status'; code: number }
  /** Serve the file with one byte flipped (the middle one). */
  | { kind: 'corrupt' }
  /** Announce the full length, send half, then destroy the socket. */
  | { kind: 'truncate' }
  | { kind: 'replace'; body: Buffer }
  /** Apply `fault` to the first `n` requests that meet this fault only, then serve normally. */
  | { kind: 'times'; n: number; fault: Fault };

export interface TestServer {
  /** Base URL, no trailing slash. */
  url: string;
  /** Request paths (URL pathname), in arrival order. */
  requests: string[];
  close(): Promise<void>;
}

/** Faults are keyed by URL path (`/dists/fixture/InRelease`); the map may be changed while the server runs. */
export async function startServer(root: string, faults: Map<string, Fault> = new Map()): Promise<TestServer> {
  const requests: string[] = [];
  // Per `times` fault object, so a map reused across tests counts each fault from its own first use.
  const counts = new WeakMap<Fault, number>();

  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://127.0.0.1').pathname);
    requests.push(path);
    void respond(path).catch((error: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(error));
      else res.destroy();
    });

    async function respond(path: string): Promise<void> {
      let fault = faults.get(path);
      while (fault?.kind === 'times') {
        const nth = (counts.get(fault) ?? 0) + 1;
        counts.set(fault, nth);
        fault = nth <= fault.n ? fault.fault : undefined;
      }
      if (fault?.kind === 'status') return void res.writeHead(fault.code).end();
      if (fault?.kind === 'replace') return send(res, fault.body);
      const file = join(root, normalize(path)); // normalize() of an absolute path drops every leading ".."
      let body: Buffer;
      try {
        body = await readFile(file);
      } catch {
        return void res.writeHead(404).end();
      }
      if (fault?.kind === 'corrupt') {
        body = Buffer.from(body);
        const i = Math.floor(body.length / 2);
        body[i] = body[i]! ^ 0xff;
      }
      if (fault?.kind === 'truncate') {
        res.writeHead(200, { 'content-length': body.length, 'content-type': 'application/octet-stream' });
        res.write(body.subarray(0, Math.floor(body.length / 2)), () => res.destroy());
        return;
      }
      send(res, body);
    }
  });
  server.keepAliveTimeout = 1000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function send(res: ServerResponse, body: Buffer): void {
  res.writeHead(200, { 'content-length': body.length, 'content-type': 'application/octet-stream' }).end(body);
}
