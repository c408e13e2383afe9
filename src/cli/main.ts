/**
 * The edge: parses the command line, renders progress with listr2, and is the ONE place that catches errors
 * and turns them into a message, a hint and an exit code (README: "Exit codes").
 */
import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Listr, type ListrTaskWrapper } from 'listr2';
import { ExitCode, RootstrapError, UsageError } from '../errors.js';
import type { BootstrapEvent, StageName } from '../events.js';
import { defaultCacheDir } from '../fetch/cache.js';
import { bootstrap, type BootstrapResult } from '../pipeline.js';
import { loadFamilies } from '../recipe/recipe.js';
import { runInRoot } from '../sandbox/helper.js';
import { type BootstrapArgs, parseCommandLine, type RunArgs, USAGE } from './args.js';

const PACKAGE_JSON = resolve(dirname(fileURLToPath(import.meta.url)), '../../package.json');

function version(): string {
  return (JSON.parse(readFileSync(PACKAGE_JSON, 'utf8')) as { version: string }).version;
}

export async function main(argv: string[]): Promise<number> {
  let debug = argv.includes('--debug');
  try {
    const command = parseCommandLine(argv);
    switch (command.kind) {
      case 'help':
        process.stdout.write(USAGE + '\n');
        return 0;
      case 'version':
        process.stdout.write(`rootstrap ${version()}\n`);
        return 0;
      case 'list':
        await printList();
        return 0;
      case 'run':
        debug = command.options.debug;
        return await runCommand(command.options);
      case 'bootstrap':
        debug = command.options.debug;
        return await runBootstrap(command.options);
    }
  } catch (error) {
    return reportError(error, debug);
  }
}

function reportError(error: unknown, debug: boolean): number {
  if (error instanceof RootstrapError) {
    process.stderr.write(`rootstrap: error: ${error.message}\n`);
    if (error.hint) process.stderr.write(`hint: ${error.hint}\n`);
    if (debug) process.stderr.write(`${error.stack}\n${error.cause ? `cause: ${(error.cause as Error).stack ?? String(error.cause)}\n` : ''}`);
    return error.exitCode;
  }
  if (error instanceof Error && error.name === 'AbortError') {
    process.stderr.write('rootstrap: interrupted\n');
    return ExitCode.interrupted;
  }
  process.stderr.write(`rootstrap: internal error: ${error instanceof Error ? error.message : String(error)}\n`);
  process.stderr.write(debug ? `${(error as Error).stack}\n` : 'hint: run again with --debug for a stack trace, and report it as a bug\n');
  return ExitCode.internal;
}

async function printList(): Promise<void> {
  const families = await loadFamilies();
  const lines: string[] = [];
  for (const f of families) {
    lines.push(`${f.vendor} (${f.name}, recipes/${f.file})`);
    for (const r of f.releases) lines.push(`  ${r.codename}${r.version ? ` (${r.version})` : ''}`);
    if (f.suiteAliases.length) lines.push(`  aliases, resolved through the Release file's Codename: ${f.suiteAliases.join(', ')}`);
    lines.push(`  variants: ${Object.keys(f.variants).join(', ')} (default: ${f.defaultVariant})`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}

/** SIGINT/SIGTERM abort the run; the helper and its namespace die with it (native/PROTOCOL.md). */
function abortOnSignals(): { signal: AbortSignal; dispose: () => void; received: () => NodeJS.Signals | undefined } {
  const controller = new AbortController();
  let received: NodeJS.Signals | undefined;
  const handler = (sig: NodeJS.Signals): void => {
    if (received) process.exit(128 + (sig === 'SIGINT' ? 2 : 15)); // a second signal: leave now
    received = sig;
    controller.abort(Object.assign(new Error(`interrupted by ${sig}`), { name: 'AbortError' }));
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return {
    signal: controller.signal,
    received: () => received,
    dispose: () => {
      process.off('SIGINT', handler);
      process.off('SIGTERM', handler);
    },
  };
}

const STAGES: Array<[StageName, string]> = [
  ['recipe', 'Read the recipe and choose the mirror'],
  ['indexes', 'Fetch and verify the indexes'],
  ['resolve', 'Resolve dependencies'],
  ['unpack', 'Download, verify and unpack the packages'],
  ['configure', 'Configure the packages inside the root'],
  ['finish', 'Finish the root'],
];

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
  reject: (e: unknown) => void;
  started: boolean;
}

function deferred(): Deferred {
  let resolve!: () => void;
  let reject!: (e: unknown) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  promise.catch(() => {});
  return { promise, resolve, reject, started: false };
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

async function runBootstrap(args: BootstrapArgs): Promise<number> {
  const signals = abortOnSignals();
  const useUi = !args.quiet && !args.printDebs && !args.verbose;
  const stages = new Map(STAGES.map(([s]) => [s, deferred()]));
  const wrappers = new Map<StageName, ListrTaskWrapper<unknown, never, never>>();
  let downloadStart = 0;
  const onEvent = (event: BootstrapEvent): void => {
    switch (event.kind) {
      case 'stage-start':
        stages.get(event.stage)!.started = true;
        if (event.stage === 'unpack') downloadStart = performance.now();
        if (args.verbose) process.stderr.write(`rootstrap: ${event.title}\n`);
        break;
      case 'stage-done':
        stages.get(event.stage)!.resolve();
        if (args.verbose) process.stderr.write(`rootstrap: ${event.title}: done in ${(event.ms / 1000).toFixed(2)} s\n`);
        break;
      case 'download': {
        const seconds = (performance.now() - downloadStart) / 1000;
        const text = `${event.doneFiles}/${event.totalFiles} files, ${mb(event.bytes)} of ${mb(event.totalBytes)}, ${mb(event.bytes / Math.max(seconds, 0.001))}/s`;
        const task = wrappers.get('unpack');
        if (task && process.stderr.isTTY) task.output = text;
        break;
      }
      case 'log':
        if (args.verbose) process.stderr.write(`${event.message}\n`);
        break;
      case 'warning':
        if (!args.quiet) process.stderr.write(`rootstrap: ${event.message}\n`);
        break;
    }
  };
  const run = bootstrap({
    suite: args.suite,
    target: args.target,
    ...(args.mirror ? { mirror: args.mirror } : {}),
    ...(args.recipe ? { recipe: args.recipe } : {}),
    ...(args.variant ? { variant: args.variant } : {}),
    include: args.include,
    exclude: args.exclude,
    ...(args.components ? { components: args.components } : {}),
    ...(args.arch ? { arch: args.arch } : {}),
    ...(args.keyrings ? { keyrings: args.keyrings } : {}),
    checkGpg: args.checkGpg,
    cacheDir: args.cacheDir ?? defaultCacheDir(),
    printDebs: args.printDebs,
    signal: signals.signal,
    onEvent,
  });
  run.then(
    () => {
      for (const d of stages.values()) d.resolve();
    },
    (error: unknown) => {
      for (const d of stages.values()) d.reject(error);
    },
  );
  let result: BootstrapResult;
  try {
    if (useUi) {
      const list = new Listr(
        STAGES.map(([stage, title]) => ({
          title,
          task: async (_ctx: unknown, task: ListrTaskWrapper<unknown, never, never>) => {
            wrappers.set(stage, task);
            // The full error is printed once, by reportError; the task line only names its code.
            await stages.get(stage)!.promise.catch((error: unknown) => {
              throw new Error(error instanceof RootstrapError ? error.code : 'failed');
            });
            if (!stages.get(stage)!.started) task.skip(`${title}: not needed`);
          },
        })),
        { concurrent: false, exitOnError: true, renderer: process.stderr.isTTY ? 'default' : 'simple', rendererOptions: { collapseSubtasks: false, showErrorMessage: false }, fallbackRenderer: 'simple' } as never,
      );
      await Promise.all([list.run().catch(() => {}), run.catch(() => {})]);
    }
    result = await run;
  } catch (error) {
    if (signals.received()) {
      process.stderr.write(`rootstrap: interrupted by ${signals.received()}\n`);
      return 128 + (signals.received() === 'SIGINT' ? 2 : 15);
    }
    throw error;
  } finally {
    signals.dispose();
  }
  if (args.printDebs) {
    process.stdout.write(result.packages.map((p) => p.name).join('\n') + '\n');
    return 0;
  }
  if (args.timings) {
    const rows = STAGES.filter(([s]) => result.timings[s] !== undefined).map(([s]) => `  ${s.padEnd(10)} ${(result.timings[s]! / 1000).toFixed(2)} s`);
    process.stderr.write(`timings:\n${rows.join('\n')}\n`);
  }
  if (!args.quiet) {
    process.stderr.write(`rootstrap: ${result.vendor} ${result.codename} (${result.variant}, ${result.packages.length} packages) is ready in ${result.target}\n`);
  }
  return 0;
}

async function runCommand(args: RunArgs): Promise<number> {
  const st = await stat(args.target).catch(() => undefined);
  if (!st?.isDirectory()) throw new UsageError('bad-target', `target ${args.target} is not a directory`, { hint: 'pass the directory of a built root' });
  const interactive = args.command.length === 0;
  const command = interactive ? ['/bin/sh', '-c', 'if [ -x /bin/bash ]; then exec /bin/bash -l; fi; exec /bin/sh -l'] : args.command;
  if (interactive && !process.stdin.isTTY) throw new UsageError('no-tty', 'no COMMAND given and stdin is not a terminal', { hint: 'pass a COMMAND, or run from a terminal for a shell' });
  const term = process.env.TERM ?? 'xterm';
  // SIGINT/SIGTERM sent to rootstrap are passed to the helper, which forwards them to the command and
  // exits with its status; a terminal's Ctrl-C reaches the helper directly.
  const controller = new AbortController();
  const forward = (): void => controller.abort();
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  try {
    const result = await runInRoot(resolve(args.target), command, {
      env: { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', TERM: term, LANG: 'C.UTF-8' },
      hostname: args.hostname,
      network: args.network,
      binds: args.binds,
      ...(args.workdir ? { workdir: args.workdir } : {}),
      keepCaps: args.keepCaps,
      tty: interactive,
      stdio: 'inherit',
      signal: controller.signal,
    });
    if (result.execError) process.stderr.write(`rootstrap: ${result.execError}\n`);
    return result.status;
  } finally {
    process.off('SIGINT', forward);
    process.off('SIGTERM', forward);
  }
}
