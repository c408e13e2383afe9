/**
 * bootstrap(options): the stages in order. It reads like a table of contents; each stage is a function below
 * that takes and returns plain values.
 *
 * recipe -> fetch indexes -> verify -> resolve -> fetch packages (verified, cached) -> unpack -> configure -> finish
 */
import { lstat, mkdir, readdir, readFile, realpath, symlink } from 'node:fs/promises';
import { arch as hostArch } from 'node:os';
import { ConfigureError, FetchError, TargetError, UsageError, VerifyError } from './errors.js';
import type { BootstrapEvent, EventSink, StageName } from './events.js';
import { ContentCache } from './fetch/cache.js';
import { HttpClient } from './fetch/http.js';
import { decompressBuffer } from './formats/compression.js';
import { choosePackagesIndexes, distsUrl } from './formats/deb/archive.js';
import { buildConfigureScript, CONFIGURE_ENV, type ConfigurePackage } from './formats/deb/configure-script.js';
import { DPKG_DIRS, hashConffiles, infoPrefix, parseConffiles, type UnpackedPackage, writeDpkgDatabase, writeTargetFile } from './formats/deb/dpkg-db.js';
import { readDebControl, readDebLayout, unpackDebData } from './formats/deb/deb-file.js';
import { type PackageRecord, parsePackagesIndex } from './formats/deb/packages-index.js';
import { checkReleaseDates, parseRelease, type ReleaseFile } from './formats/deb/release.js';
import { type MirrorChoice, resolveMirror } from './recipe/mirror.js';
import { lookupSuite, type RecipeFamily, type ReleaseRecipe, releaseForCodename, type Variant } from './recipe/recipe.js';
import { PackageUniverse, resolvePlan, type Selector } from './resolve/deb-resolver.js';
import { makeDevices, runInRoot } from './sandbox/helper.js';
import { RootWriter } from './unpack/writer.js';
import { clearsignedText, parseKeyring, type PublicKeys, verifyClearsigned, verifyDetached } from './verify/openpgp.js';

export interface BootstrapOptions {
  suite: string;
  target: string;
  mirror?: string;
  recipe?: string;
  variant?: string;
  include?: string[];
  exclude?: string[];
  components?: string[];
  arch?: string;
  keyrings?: string[];
  checkGpg?: boolean;
  cacheDir: string;
  printDebs?: boolean;
  signal?: AbortSignal;
  onEvent?: EventSink;
  /** Network tuning (tests shorten the read timeout and the backoff). */
  http?: { readTimeoutMs?: number; retries?: number; backoffMs?: number };
  /** For tests: the clock, the host apt directory, the config file, the environment. */
  now?: Date;
  aptDir?: string;
  configFile?: string;
  env?: NodeJS.ProcessEnv;
  recipesDir?: string;
}

export interface BootstrapResult {
  vendor: string;
  codename: string;
  variant: string;
  mirror: MirrorChoice;
  packages: PackageRecord[];
  /** Wall time of each stage, in ms. */
  timings: Partial<Record<StageName, number>>;
  /** Absent with --print-debs. */
  target?: string;
}

const NODE_TO_DPKG_ARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', ia32: 'i386', arm: 'armhf', ppc64: 'ppc64el', s390x: 's390x', riscv64: 'riscv64', loong64: 'loong64', mips64el: 'mips64el' };

export function hostDpkgArch(): string {
  return NODE_TO_DPKG_ARCH[hostArch()] ?? hostArch();
}

export async function bootstrap(options: BootstrapOptions): Promise<BootstrapResult> {
  const emit: EventSink = options.onEvent ?? (() => {});
  const timings: BootstrapResult['timings'] = {};
  const stage = async <T>(name: StageName, title: string, fn: () => Promise<T>): Promise<T> => {
    options.signal?.throwIfAborted();
    emit({ kind: 'stage-start', stage: name, title });
    const t0 = performance.now();
    const result = await fn();
    const ms = performance.now() - t0;
    timings[name] = ms;
    emit({ kind: 'stage-done', stage: name, title, ms });
    return result;
  };

  const plan = await stage('recipe', 'Read the recipe', () => planBootstrap(options, emit));
  const http = new HttpClient({ ...options.http, ...(options.signal ? { signal: options.signal } : {}) });
  try {
    const cache = new ContentCache(options.cacheDir);
    // The whole index (tens of MB) lives only inside this call: once resolved, only the plan is kept.
    const { releaseRecipe, packages } = await indexAndResolve(plan, http, cache, options, emit, stage);
    const result: BootstrapResult = { vendor: plan.family.vendor, codename: releaseRecipe.codename, variant: plan.variantName, mirror: plan.mirror, packages, timings };
    if (options.printDebs) return result;

    const root = await prepareTarget(options.target, plan, releaseRecipe);
    const writer = new RootWriter(root, { onWarning: (message) => emit({ kind: 'warning', message }) });
    const unpacked = await stage('unpack', `Download and unpack ${packages.length} packages`, () => downloadAndUnpack(packages, plan, http, cache, writer, options, emit));
    await writeDpkgDatabase(writer, unpacked);
    if (plan.variant.configure) {
      await stage('configure', 'Configure the packages', () => configureRoot(root, writer, unpacked, packages, plan, options, emit));
    }
    await stage('finish', 'Finish the root', () => finishRoot(writer, plan));
    result.target = root;
    return result;
  } finally {
    await http.close();
  }
}

type StageRunner = <T>(name: StageName, title: string, fn: () => Promise<T>) => Promise<T>;

async function indexAndResolve(plan: Plan, http: HttpClient, cache: ContentCache, options: BootstrapOptions, emit: EventSink, stage: StageRunner): Promise<{ releaseRecipe: ReleaseRecipe; packages: PackageRecord[] }> {
  const { release, records } = await stage('indexes', 'Fetch and verify the indexes', () => fetchIndexes(plan, http, cache, options, emit));
  const releaseRecipe = releaseForCodename(plan.match, release.codename, `${plan.suite}/Release`);
  const packages = await stage('resolve', 'Resolve dependencies', async () => resolveSelection(plan, releaseRecipe, records, options, emit));
  return { releaseRecipe, packages };
}

interface Plan {
  suite: string;
  family: RecipeFamily;
  match: Awaited<ReturnType<typeof lookupSuite>>;
  variantName: string;
  variant: Variant;
  arch: string;
  components: string[];
  mirror: MirrorChoice;
  keys?: PublicKeys;
}

async function planBootstrap(options: BootstrapOptions, emit: EventSink): Promise<Plan> {
  if (!options.printDebs && process.getuid?.() !== 0) {
    throw new UsageError('not-root', 'rootstrap must run as root to build a root (it sets owners, creates device nodes and namespaces)', {
      hint: 'run it with sudo, or use --print-debs to only resolve the package set',
    });
  }
  if (!options.printDebs) await checkTarget(options.target);
  const match = await lookupSuite(options.suite, options.recipe, options.recipesDir);
  const family = match.family;
  const variantName = options.variant ?? family.defaultVariant;
  const variant = family.variants[variantName];
  if (!variant) {
    throw new UsageError('unknown-variant', `unknown variant ${JSON.stringify(variantName)} for ${family.name}`, { hint: `use one of: ${Object.keys(family.variants).join(', ')}` });
  }
  const arch = options.arch ?? hostDpkgArch();
  if (!/^[a-z0-9-]+$/.test(arch)) throw new UsageError('bad-arch', `--arch ${JSON.stringify(arch)} is not a Debian architecture name`, { hint: 'e.g. --arch amd64' });
  if (arch !== hostDpkgArch() && variant.configure && !options.printDebs) {
    throw new UsageError('foreign-arch', `--arch ${arch} differs from this host (${hostDpkgArch()}): its maintainer scripts cannot run here`, {
      hint: 'use --variant extract for a foreign architecture (emulated configuration is not supported yet)',
    });
  }
  const components = options.components ?? family.components;
  const mirror = await resolveMirror(family, { ...(options.mirror ? { argument: options.mirror } : {}), ...(options.env ? { env: options.env } : {}), ...(options.configFile ? { configFile: options.configFile } : {}), ...(options.aptDir ? { aptDir: options.aptDir } : {}) });
  emit({ kind: 'log', message: `recipe: ${family.name} (${family.file}), suite ${match.suite}, variant ${variantName}, arch ${arch}` });
  emit({ kind: 'log', message: `mirror: ${mirror.url} (from ${mirror.source}${mirror.file ? ` ${mirror.file}` : ''})` });
  const plan: Plan = { suite: match.suite, family, match, variantName, variant, arch, components, mirror };
  if (options.checkGpg === false) {
    emit({ kind: 'warning', message: 'WARNING: --no-check-gpg: the repository signature is NOT checked; anyone between you and the mirror can choose what this root contains' });
  } else {
    plan.keys = await loadKeys(options.keyrings ?? family.keyrings, family, options.keyrings !== undefined);
  }
  return plan;
}

async function loadKeys(paths: readonly string[], family: RecipeFamily, fromUser: boolean): Promise<PublicKeys> {
  const keys: PublicKeys = [];
  for (const path of paths) {
    let data: Buffer;
    try {
      data = await readFile(path);
    } catch (error) {
      throw new VerifyError('keyring-missing', `keyring ${path} cannot be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`, {
        cause: error,
        hint: fromUser ? 'check the --keyring path' : `install ${family.keyringPackage ?? 'the archive keyring package'} on this host, or pass --keyring FILE`,
      });
    }
    keys.push(...(await parseKeyring(data, path)));
  }
  return keys;
}

const isNotFound = (error: unknown): boolean => error instanceof FetchError && error.code === 'not-found';

async function fetchIndexes(plan: Plan, http: HttpClient, cache: ContentCache, options: BootstrapOptions, emit: EventSink): Promise<{ release: ReleaseFile; records: PackageRecord[] }> {
  const { mirror, suite } = plan;
  let signedText: string;
  const inReleaseUrl = distsUrl(mirror.url, suite, 'InRelease');
  try {
    const inRelease = (await http.fetchBuffer(inReleaseUrl, {}, `${suite}/InRelease`)).toString('utf8');
    signedText = plan.keys ? await verifyClearsigned(inRelease, plan.keys, `${suite}/InRelease`) : clearsignedText(inRelease);
  } catch (error) {
    if (!isNotFound(error)) throw error;
    // No InRelease: Release + detached Release.gpg, as apt falls back.
    const releaseData = await http.fetchBuffer(distsUrl(mirror.url, suite, 'Release'), {}, `${suite}/Release`);
    if (plan.keys) {
      const signature = await http.fetchBuffer(distsUrl(mirror.url, suite, 'Release.gpg'), {}, `${suite}/Release.gpg`).catch((e: unknown) => {
        if (isNotFound(e)) {
          throw new VerifyError('unsigned', `${suite}/Release has no signature (neither InRelease nor Release.gpg exists)`, { hint: 'the repository is unsigned; pass --no-check-gpg only if you trust the path to the mirror' });
        }
        throw e;
      });
      await verifyDetached(releaseData, signature, plan.keys, `${suite}/Release`);
    }
    signedText = releaseData.toString('utf8');
  }
  const release = parseRelease(signedText, `${suite}/Release`);
  checkReleaseDates(release, `${suite}/Release`, options.now ?? new Date());
  emit({ kind: 'log', message: `release: ${release.origin ?? '?'} ${release.suite ?? '?'} (${release.codename ?? '?'}) dated ${release.date?.toISOString() ?? '?'}` });
  const choices = choosePackagesIndexes(mirror.url, suite, release, plan.components, plan.arch, `${suite}/Release`);
  const lists = await Promise.all(
    choices.map(async (choice) => {
      const what = `${suite}/${choice.component}/binary-${plan.arch}/Packages`;
      const { path } = await cache.fetch(http, choice.url, choice.entry.sha256, choice.entry.size, what);
      const data = await decompressBuffer(await readFile(path), choice.compression, what);
      return parsePackagesIndex(data.toString('utf8'), choice.component, what);
    }),
  );
  return { release, records: lists.flat() };
}


function resolveSelection(plan: Plan, release: ReleaseRecipe, records: PackageRecord[], options: BootstrapOptions, emit: EventSink): PackageRecord[] {
  const selectors: Selector[] = plan.variant.selectors.map((s) => ('essential' in s ? { kind: 'essential' } : 'priority' in s ? { kind: 'priority', priority: s.priority } : { kind: 'package', name: s.package }));
  if (plan.variant.followDependencies) for (const name of release.extraPackages) selectors.push({ kind: 'package', name });
  const include = (options.include ?? []).filter(Boolean);
  if (!plan.variant.followDependencies && include.length === 0) {
    throw new UsageError('extract-needs-include', `variant ${plan.variantName} installs only the --include packages, and none were given`, { hint: 'pass --include PKG[,PKG...]' });
  }
  const universe = new PackageUniverse(records, plan.arch);
  const resolved = resolvePlan(universe, {
    arch: plan.arch,
    selectors,
    include,
    exclude: options.exclude ?? [],
    excludeDependencies: release.excludeDependencies,
    followDependencies: plan.variant.followDependencies,
  });
  for (const dropped of resolved.droppedByExclude) emit({ kind: 'warning', message: `--exclude leaves a dependency unsatisfied: ${dropped}` });
  emit({ kind: 'log', message: `resolved ${resolved.packages.length} packages` });
  return resolved.packages;
}

/**
 * TARGET must be missing or an empty directory (as mmdebstrap requires): a bootstrap never mixes with
 * what was there. The merged-/usr links and dpkg's directories are made first.
 */
async function checkTarget(target: string): Promise<void> {
  if (target === '') throw new UsageError('bad-args', 'no TARGET given', { hint: 'e.g. `rootstrap bookworm /srv/root`' });
  let st;
  try {
    st = await lstat(target);
  } catch {
    st = undefined;
  }
  if (st && !st.isDirectory()) {
    throw new TargetError('target-not-dir', `target ${target} exists and is not a directory`, { hint: 'choose a directory path (an archive output format is not supported yet)' });
  }
  if (st && (await readdir(target)).filter((n) => n !== 'lost+found').length > 0) {
    throw new TargetError('target-not-empty', `target ${target} is not empty`, { hint: 'choose a new or empty directory, or remove the old root first' });
  }
}

async function prepareTarget(target: string, plan: Plan, release: ReleaseRecipe): Promise<string> {
  await checkTarget(target); // again: the check in the plan stage was before the network round trips
  await mkdir(target, { recursive: true, mode: 0o755 });
  const root = await realpath(target);
  if (root === '/') throw new TargetError('target-is-root', 'target resolves to /', { hint: 'choose a new directory' });
  if (release.mergedUsr) {
    // The merged-/usr layout is made before anything is unpacked, so /bin/x lands in /usr/bin/x.
    await mkdir(`${root}/usr`, { mode: 0o755 });
    for (const dir of [...plan.family.mergedUsr.links, ...(plan.family.mergedUsr.archLinks[plan.arch] ?? [])]) {
      await mkdir(`${root}/usr/${dir}`, { mode: 0o755 });
      await symlink(`usr/${dir}`, `${root}/${dir}`);
    }
  }
  for (const dir of DPKG_DIRS) await mkdir(`${root}/${dir}`, { recursive: true, mode: 0o755 });
  return root;
}

/** A tiny concurrency limiter. */
function limit(n: number): <T>(fn: () => Promise<T>) => Promise<T> {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async <T>(fn: () => Promise<T>): Promise<T> => {
    if (active >= n) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      return await fn();
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

/** Downloads (6 connections) feed unpacking (2 at a time: 2 cores) as each file is verified. */
async function downloadAndUnpack(packages: readonly PackageRecord[], plan: Plan, http: HttpClient, cache: ContentCache, writer: RootWriter, options: BootstrapOptions, emit: EventSink): Promise<UnpackedPackage[]> {
  const downloadSlot = limit(6);
  const unpackSlot = limit(2);
  const totalBytes = packages.reduce((n, p) => n + p.size, 0);
  let bytes = 0;
  let doneFiles = 0;
  // The first failure stops the tasks that have not started unpacking, and bootstrap() throws only once every
  // task has settled: nothing is written into the target after the error is reported.
  const stop = new AbortController();
  const stopped = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const settled = await Promise.allSettled(
    packages.map(async (record) => {
      const what = `${record.name}_${record.version}_${record.architecture}.deb`;
      try {
        const { path } = await downloadSlot(() => {
          stopped.throwIfAborted();
          return cache.fetch(http, `${plan.mirror.url}/${record.filename}`, record.sha256, record.size, what);
        });
        bytes += record.size;
        doneFiles++;
        emit({ kind: 'download', bytes, totalBytes, doneFiles, totalFiles: packages.length });
        return await unpackSlot(() => unpackOne(path, record, writer, what, stopped));
      } catch (error) {
        stop.abort(error);
        throw error;
      }
    }),
  );
  if (stop.signal.aborted) throw stop.signal.reason; // the first failure, not the aborts it caused
  return settled.map((r) => (r as PromiseFulfilledResult<UnpackedPackage>).value);
}

async function unpackOne(path: string, record: PackageRecord, writer: RootWriter, what: string, signal?: AbortSignal): Promise<UnpackedPackage> {
  signal?.throwIfAborted();
  const layout = await readDebLayout(path, what);
  const control = await readDebControl(path, layout, what);
  const name = control.paragraph.get('Package');
  const version = control.paragraph.get('Version');
  const arch = control.paragraph.get('Architecture');
  // The index was verified; the .deb matched its hash; still, the package must be what the index said it is.
  if (name !== record.name || version !== record.version || arch !== record.architecture) {
    throw new VerifyError('control-mismatch', `${what}: its control file says ${name} ${version} ${arch}, the index says ${record.name} ${record.version} ${record.architecture}`, { hint: 'the mirror is inconsistent or hostile; use another mirror' });
  }
  const written = await unpackDebData(path, layout, writer, what);
  const realPaths = new Map<string, string>();
  for (const w of written) if (w.realPath) realPaths.set(w.listPath, w.realPath);
  const conffileNames = parseConffiles(control.files.get('conffiles')?.data.toString('utf8') ?? '');
  return {
    name: record.name,
    arch: record.architecture,
    multiArchSame: control.paragraph.get('Multi-Arch')?.toLowerCase() === 'same',
    control,
    listPaths: written.map((w) => w.listPath),
    overrides: { ...(record.priority ? { priority: record.priority } : {}), ...(record.section ? { section: record.section } : {}) },
    conffiles: await hashConffiles(conffileNames, realPaths),
  };
}

async function configureRoot(root: string, writer: RootWriter, unpacked: readonly UnpackedPackage[], order: readonly PackageRecord[], plan: Plan, options: BootstrapOptions, emit: EventSink): Promise<void> {
  await makeDevices(root);
  await setupEtc(writer, root);
  const byName = new Map(unpacked.map((u) => [u.name, u]));
  const packages: ConfigurePackage[] = order.map((record) => {
    const u = byName.get(record.name)!;
    return { name: u.name, infoPrefix: infoPrefix(u), arch: u.arch, version: record.version, hasPreinst: u.control.files.has('preinst') };
  });
  const script = buildConfigureScript(packages, plan.family.configure);
  const result = await runInRoot(root, ['/bin/sh', '-c', script], {
    env: CONFIGURE_ENV,
    hostname: 'rootstrap',
    network: 'none',
    ...(options.signal ? { signal: options.signal } : {}),
    onOutput: (chunk) => {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) emit({ kind: 'log', message: `  ${line}` });
    },
  });
  await writeTargetFile(writer, 'var/log/bootstrap.log', result.output);
  if (result.execError) {
    throw new ConfigureError('no-shell', `${result.execError}`, { hint: 'the selected packages provide no /bin/sh; check the variant and --exclude' });
  }
  if (result.status !== 0) {
    const tail = result.output.trim().split('\n').slice(-3).join(' | ');
    throw new ConfigureError('configure-failed', `configuring the packages failed with status ${result.status}: ${tail}`, {
      hint: `the full output is in ${root}/var/log/bootstrap.log`,
    });
  }
}

/** What debootstrap's setup_etc and first stage leave in /etc: the host's resolv.conf and hostname, an fstab. */
async function setupEtc(writer: RootWriter, root: string): Promise<void> {
  for (const name of ['resolv.conf', 'hostname']) {
    const exists = await lstat(`${root}/etc/${name}`).then(() => true, () => false);
    if (exists) continue;
    const data = await readFile(`/etc/${name}`).catch(() => undefined);
    if (data !== undefined) await writeTargetFile(writer, `etc/${name}`, data, 0o644);
  }
  const fstab = await lstat(`${root}/etc/fstab`).then(() => true, () => false);
  if (!fstab) await writeTargetFile(writer, 'etc/fstab', '# UNCONFIGURED FSTAB FOR BASE SYSTEM\n');
}

async function finishRoot(writer: RootWriter, plan: Plan): Promise<void> {
  // The mirror used goes into the target's apt sources, as debootstrap writes it.
  await writeTargetFile(writer, 'etc/apt/sources.list', `deb ${plan.mirror.url} ${plan.suite} ${plan.components.join(' ')}\n`);
}

export type { BootstrapEvent };
