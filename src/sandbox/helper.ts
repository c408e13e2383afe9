/**
 * Spawning the native helper (native/rootstrap-helper, protocol in native/PROTOCOL.md) and telling its own
 * failures (a status line on a pipe, exit 125) from the command's (its exit status).
 */
import { spawn, type StdioOptions } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SandboxError } from '../errors.js';

export const HELPER_PATH = resolve(dirname(fileURLToPath(import.meta.url)), '../../native/rootstrap-helper');

export interface RunOptions {
  env?: Record<string, string>;
  hostname?: string;
  network?: 'none' | 'host';
  binds?: Array<{ source: string; target: string; readOnly: boolean }>;
  workdir?: string;
  keepCaps?: string[];
  allCaps?: boolean;
  tty?: boolean;
  /** 'inherit' for rootstrap run; 'pipe' to capture output (configure). */
  stdio?: 'inherit' | 'pipe';
  onOutput?: (chunk: Buffer) => void;
  signal?: AbortSignal;
}

export interface RunResult {
  /** Exit status of the command; 128+N when a signal N ended it; 126/127 when it could not be executed. */
  status: number;
  output: string;
  /** Set when the command could not be executed (the helper's "exec" status line). */
  execError?: string;
}

export function helperArgs(root: string, command: readonly string[], options: RunOptions, statusFd: number): string[] {
  const args = ['--status-fd', String(statusFd), '--hostname', options.hostname ?? 'rootstrap', '--network', options.network ?? 'none'];
  for (const [k, v] of Object.entries(options.env ?? {})) args.push('--env', `${k}=${v}`);
  for (const b of options.binds ?? []) args.push(b.readOnly ? '--ro-bind' : '--bind', `${b.source}:${b.target}`);
  if (options.workdir) args.push('--workdir', options.workdir);
  for (const cap of options.keepCaps ?? []) args.push('--keep-cap', cap);
  if (options.allCaps) args.push('--all-caps');
  if (options.tty) args.push('--tty');
  args.push(root, '--', ...command);
  return args;
}

function ensureHelper(): void {
  if (!existsSync(HELPER_PATH)) {
    throw new SandboxError('helper-missing', `the native helper ${HELPER_PATH} is missing`, {
      hint: 'build it with `npm run build` (needs a C compiler: apt-get install -y gcc make)',
    });
  }
}

function parseStatus(text: string): SandboxError | undefined {
  const line = text.split('\n').find((l) => l.startsWith('error\t'));
  if (!line) return undefined;
  const [, step, errno, path, message] = line.split('\t');
  return new SandboxError('helper-failed', `the sandbox helper failed at step ${step}${path ? ` for ${path}` : ''}: ${message ?? 'unknown error'} (errno ${errno})`, {
    hint: 'the target is not a usable root, or this host lacks namespace support (run as root with CAP_SYS_ADMIN)',
  });
}

/** Run `command` inside `root` through the helper. Resolves with the command's status; rejects on helper failure. */
export function runInRoot(root: string, command: readonly string[], options: RunOptions = {}): Promise<RunResult> {
  ensureHelper();
  const statusFd = 3;
  const stdio: StdioOptions = options.stdio === 'inherit' ? ['inherit', 'inherit', 'inherit', 'pipe'] : ['ignore', 'pipe', 'pipe', 'pipe'];
  const child = spawn(HELPER_PATH, helperArgs(root, command, options, statusFd), { stdio, env: {} });
  let status = '';
  const output: Buffer[] = [];
  let outputSize = 0;
  const collect = (chunk: Buffer): void => {
    options.onOutput?.(chunk);
    output.push(chunk);
    outputSize += chunk.length;
    while (outputSize > 1 << 20 && output.length > 1) outputSize -= output.shift()!.length;
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  (child.stdio[3] as NodeJS.ReadableStream).on('data', (c: Buffer) => (status += c.toString()));
  const onAbort = (): void => {
    child.kill('SIGTERM');
  };
  options.signal?.addEventListener('abort', onAbort, { once: true });
  return new Promise((resolvePromise, reject) => {
    child.on('error', (error) => reject(new SandboxError('helper-spawn', `cannot start the sandbox helper ${HELPER_PATH}: ${error.message}`, { cause: error, hint: 'rebuild it with `npm run build`' })));
    child.on('close', (code, signal) => {
      options.signal?.removeEventListener('abort', onAbort);
      const helperError = parseStatus(status);
      if (helperError) return reject(helperError);
      const exit = code ?? 128 + (signal ? signalNumber(signal) : 0);
      const result: RunResult = { status: exit, output: Buffer.concat(output).toString('utf8') };
      const execLine = status.split('\n').find((l) => l.startsWith('exec\t'));
      if (execLine) {
        const [, , cmd, message] = execLine.split('\t');
        result.execError = `cannot execute ${cmd} inside ${root}: ${message}`;
      }
      resolvePromise(result);
    });
  });
}

function signalNumber(signal: NodeJS.Signals): number {
  const table: Partial<Record<NodeJS.Signals, number>> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15 };
  return table[signal] ?? 0;
}

/** Create the device nodes debootstrap creates in a new root's /dev (helper `mkdev` mode). */
export function makeDevices(root: string): Promise<void> {
  ensureHelper();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(HELPER_PATH, ['mkdev', root], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    child.on('error', (error) => reject(new SandboxError('helper-spawn', `cannot start the sandbox helper: ${error.message}`, { cause: error })));
    child.on('close', (code) => {
      if (code === 0) resolvePromise();
      else reject(new SandboxError('mkdev', `creating device nodes in ${root}/dev failed: ${err.trim() || `exit ${code}`}`, { hint: 'rootstrap must run as root to create device nodes' }));
    });
  });
}
