/** Command-line parsing with node:util parseArgs (field-notes.md: enough for a CLI of this size). */
import { parseArgs } from 'node:util';
import { UsageError } from '../errors.js';

export const USAGE = `Usage:
  rootstrap [OPTIONS] SUITE TARGET [MIRROR [RECIPE]]   bootstrap a root (debootstrap's argument order)
  rootstrap run [OPTIONS] TARGET [--] [COMMAND [ARG...]]  run a command (default: a shell) inside a root
  rootstrap list                                      the known recipes and suites

Bootstrap options:
  --variant NAME        extract, essential, minbase, buildd, important, default (default: default)
  --include PKG[,PKG]   more packages (repeatable)
  --exclude PKG[,PKG]   packages to leave out (repeatable)
  --components C[,C]    archive components (default: the recipe's, e.g. main)
  --arch ARCH           target architecture (default: this host's)
  --mirror URL          the mirror (also the MIRROR argument, ROOTSTRAP_MIRROR, the config file, host apt sources)
  --keyring FILE        trust this keyring instead of the recipe's (repeatable)
  --no-check-gpg        do not check the repository signature (dangerous; warns)
  --cache-dir DIR       download cache (default: $XDG_CACHE_HOME/rootstrap or ~/.cache/rootstrap)
  --print-debs          resolve and print the package set, then stop
  --timings             print the wall time of each stage
  --quiet, -q           print errors only
  --verbose, -v         print the log of the run (maintainer script output too)
  --debug               stack traces on errors
  --help, -h            this text
  --version, -V         the version

Run options:
  --bind SRC:DST        bind-mount a host path read-write (repeatable)
  --ro-bind SRC:DST     bind-mount a host path read-only (repeatable)
  --network host|none   share the host network, or none (default: host)
  --hostname NAME       hostname inside (default: rootstrap)
  --workdir DIR         working directory inside (default: /)
  --keep-cap NAME       keep a capability that is dropped by default (repeatable)

Exit codes: 0 ok, 2 usage, 3 recipe, 4 resolve, 5 fetch, 6 verify, 7 unpack, 8 configure, 9 sandbox,
10 target, 70 internal, 130 interrupted; rootstrap run exits with the command's status.`;

export type Command =
  | { kind: 'help' }
  | { kind: 'version' }
  | { kind: 'list' }
  | { kind: 'bootstrap'; options: BootstrapArgs }
  | { kind: 'run'; options: RunArgs };

export interface CommonArgs {
  quiet: boolean;
  verbose: boolean;
  debug: boolean;
}

export interface BootstrapArgs extends CommonArgs {
  suite: string;
  target: string;
  mirror?: string;
  recipe?: string;
  variant?: string;
  include: string[];
  exclude: string[];
  components?: string[];
  arch?: string;
  keyrings?: string[];
  checkGpg: boolean;
  cacheDir?: string;
  printDebs: boolean;
  timings: boolean;
}

export interface RunArgs extends CommonArgs {
  target: string;
  command: string[];
  binds: Array<{ source: string; target: string; readOnly: boolean }>;
  network: 'host' | 'none';
  hostname: string;
  workdir?: string;
  keepCaps: string[];
}

const list = (values: string[] | undefined): string[] => (values ?? []).flatMap((v) => v.split(/[,\s]+/)).filter(Boolean);

function parse(argv: string[], options: NonNullable<Parameters<typeof parseArgs>[0]>['options']): ReturnType<typeof parseArgs> {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    const message = (error as Error).message.split('\n')[0]!.replace(/\. To specify.*$/, '');
    throw new UsageError('bad-option', message, { hint: 'see `rootstrap --help`' });
  }
}

const COMMON = {
  quiet: { type: 'boolean', short: 'q' },
  verbose: { type: 'boolean', short: 'v' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} as const;

export function parseCommandLine(argv: string[]): Command {
  if (argv[0] === 'list') {
    if (argv.length > 1) throw new UsageError('bad-args', `list takes no arguments, got ${argv.slice(1).join(' ')}`, { hint: 'run `rootstrap list`' });
    return { kind: 'list' };
  }
  if (argv[0] === 'run') return parseRun(argv.slice(1));
  const { values, positionals } = parse(argv, {
    ...COMMON,
    variant: { type: 'string' },
    include: { type: 'string', multiple: true },
    exclude: { type: 'string', multiple: true },
    components: { type: 'string' },
    arch: { type: 'string' },
    mirror: { type: 'string' },
    keyring: { type: 'string', multiple: true },
    'no-check-gpg': { type: 'boolean' },
    'cache-dir': { type: 'string' },
    'print-debs': { type: 'boolean' },
    timings: { type: 'boolean' },
  });
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };
  const printDebs = values['print-debs'] === true;
  if (positionals.length < 2 && !(printDebs && positionals.length === 1)) {
    throw new UsageError('bad-args', `expected SUITE and TARGET, got ${positionals.length === 0 ? 'nothing' : JSON.stringify(positionals.join(' '))}`, { hint: 'e.g. `rootstrap bookworm /srv/root`; see `rootstrap --help`' });
  }
  if (positionals.length > 4) throw new UsageError('bad-args', `too many arguments: ${positionals.slice(4).join(' ')}`, { hint: 'usage: rootstrap [OPTIONS] SUITE TARGET [MIRROR [RECIPE]]' });
  const [suite, target, mirrorArg, recipe] = positionals as [string, string | undefined, string | undefined, string | undefined];
  if (mirrorArg && values.mirror && mirrorArg !== values.mirror) {
    throw new UsageError('bad-args', `two mirrors given: MIRROR ${mirrorArg} and --mirror ${String(values.mirror)}`, { hint: 'give one' });
  }
  const args: BootstrapArgs = {
    suite,
    target: target ?? '',
    include: list(values.include as string[] | undefined),
    exclude: list(values.exclude as string[] | undefined),
    checkGpg: values['no-check-gpg'] !== true,
    printDebs,
    timings: values.timings === true,
    quiet: values.quiet === true,
    verbose: values.verbose === true,
    debug: values.debug === true,
  };
  const mirror = mirrorArg ?? (values.mirror as string | undefined);
  if (mirror) args.mirror = mirror;
  if (recipe) args.recipe = recipe;
  if (values.variant) args.variant = values.variant as string;
  if (values.components) args.components = list([values.components as string]);
  if (values.arch) args.arch = values.arch as string;
  if (values.keyring) args.keyrings = values.keyring as string[];
  if (values['cache-dir']) args.cacheDir = values['cache-dir'] as string;
  return { kind: 'bootstrap', options: args };
}

function parseRun(argv: string[]): Command {
  // Options stop at TARGET: everything after it is the command.
  const idx = argv.findIndex((a, i) => !a.startsWith('-') && !['--bind', '--ro-bind', '--network', '--hostname', '--workdir', '--keep-cap'].includes(argv[i - 1] ?? ''));
  const optionArgs = idx < 0 ? argv : argv.slice(0, idx);
  const { values } = parse(optionArgs, {
    ...COMMON,
    bind: { type: 'string', multiple: true },
    'ro-bind': { type: 'string', multiple: true },
    network: { type: 'string' },
    hostname: { type: 'string' },
    workdir: { type: 'string' },
    'keep-cap': { type: 'string', multiple: true },
  });
  if (values.help) return { kind: 'help' };
  if (idx < 0) throw new UsageError('bad-args', 'run needs a TARGET', { hint: 'e.g. `rootstrap run /srv/root -- apt-get update`' });
  const target = argv[idx]!;
  let command = argv.slice(idx + 1);
  if (command[0] === '--') command = command.slice(1);
  const network = (values.network as string | undefined) ?? 'host';
  if (network !== 'host' && network !== 'none') throw new UsageError('bad-option', `--network must be host or none, got ${JSON.stringify(network)}`, { hint: 'use --network host or --network none' });
  const binds = [
    ...((values.bind as string[] | undefined) ?? []).map((b) => ({ b, readOnly: false })),
    ...((values['ro-bind'] as string[] | undefined) ?? []).map((b) => ({ b, readOnly: true })),
  ].map(({ b, readOnly }) => {
    const i = b.indexOf(':');
    if (i <= 0 || i === b.length - 1) throw new UsageError('bad-option', `bind ${JSON.stringify(b)} must be SRC:DST`, { hint: 'e.g. --bind /srv/src:/src' });
    return { source: b.slice(0, i), target: b.slice(i + 1), readOnly };
  });
  const args: RunArgs = {
    target,
    command,
    binds,
    network,
    hostname: (values.hostname as string | undefined) ?? 'rootstrap',
    keepCaps: (values['keep-cap'] as string[] | undefined) ?? [],
    quiet: values.quiet === true,
    verbose: values.verbose === true,
    debug: values.debug === true,
  };
  if (values.workdir) args.workdir = values.workdir as string;
  return { kind: 'run', options: args };
}
