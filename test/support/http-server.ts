/**
 * A loopback HTTP server for the integration tests: serves a directory on 127.0.0.1 (or another loopback
 * address; port chosen by the kernel), records every request path, and injects faults per path.
 */
import { readFile } from 'node:fs/promises';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { join, normalize } from 'node:path';

export type Fault =
  | { kind: 'status'; code: number }
  /** Serve the file with one byte flipped (the middle one). */
  | { kind: 'corrupt' }
  /** Announce the full length, send half, then destroy the socket. */
  | { kind: 'truncate' }
  | { kind: 'replace'; body: Buffer }
  /** Announce the full length, send `bytes` of the body (default: half), then nothing: the socket is kept open until close(). */
  | { kind: 'stall'; bytes?: number }
  /** Destroy the connection before any byte of the response is sent. */
  | { kind: 'reset' }
  /** Answer `code` (default 302) with `Location: to` (an absolute URL). */
  | { kind: 'redirect'; to: string; code?: number }
  /** Wait `ms`, then apply `fault` (or serve normally). */
  | { kind: 'delay'; ms: number; fault?: Fault }
  /** Apply `fault` to the first `n` requests that meet this fault only, then serve normally. */
  | { kind: 'times'; n: number; fault: Fault };

export interface TestServer {
  /** Base URL, no trailing slash. */
  url: string;
  /** Request paths (URL pathname), in arrival order. */
  requests: string[];
  close(): Promise<void>;
}

export interface ServerOptions {
  /** Loopback address to listen on (default 127.0.0.1; any 127.x.y.z works on Linux). */
  host?: string;
}

/** Faults are keyed by URL path (`/dists/fixture/InRelease`); the map may be changed while the server runs. */
export async function startServer(root: string, faults: Map<string, Fault> = new Map(), serverOptions: ServerOptions = {}): Promise<TestServer> {
  const host = serverOptions.host ?? '127.0.0.1';
  const requests: string[] = [];
  // Connections a `stall` fault keeps open: destroyed by close(), so a stalled client never hangs a test.
  const stalled = new Set<Socket>();
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
      for (;;) {
        if (fault?.kind === 'times') {
          const nth = (counts.get(fault) ?? 0) + 1;
          counts.set(fault, nth);
          fault = nth <= fault.n ? fault.fault : undefined;
        } else if (fault?.kind === 'delay') {
          const { ms, fault: next } = fault;
          await new Promise((resolve) => setTimeout(resolve, ms));
          fault = next;
        } else break;
      }
      if (fault?.kind === 'reset') return void req.socket.destroy();
      if (fault?.kind === 'status') return void res.writeHead(fault.code).end();
      if (fault?.kind === 'redirect') return void res.writeHead(fault.code ?? 302, { location: fault.to, 'content-length': 0 }).end();
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
      if (fault?.kind === 'stall') {
        stalled.add(req.socket);
        req.socket.once('close', () => stalled.delete(req.socket));
        res.writeHead(200, { 'content-length': body.length, 'content-type': 'application/octet-stream' });
        res.write(body.subarray(0, fault.bytes ?? Math.floor(body.length / 2)));
        return; // and nothing more
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
    server.listen(0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${host}:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        for (const socket of stalled) socket.destroy();
        stalled.clear();
        server.closeAllConnections();
      }),
  };
}

function send(res: ServerResponse, body: Buffer): void {
  res.writeHead(200, { 'content-length': body.length, 'content-type': 'application/octet-stream' }).end(body);
}
