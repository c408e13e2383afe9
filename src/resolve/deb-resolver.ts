/**
 * The Debian dependency solver: pure, (indexes, request) -> plan, no I/O.
 *
 * It does what debootstrap and apt do for a fresh root: pick the candidate (highest) version of each seed,
 * then satisfy every Pre-Depends and Depends group, preferring an alternative the selection already
 * satisfies, then the first alternative that can be installed (a real package, else a provider of a virtual
 * package). Recommends are not followed (debootstrap and mmdebstrap do not either).
 */
import { ResolveError } from '../errors.js';
import type { PackageRecord } from '../formats/deb/packages-index.js';
import { type AlternativeGroup, type Dependency, formatGroup, parseRelations, RelationSyntaxError } from '../formats/deb/relation.js';
import { compareVersions, satisfiesVersion } from '../formats/deb/version.js';

/** What a variant asks for: unions of these selectors. */
export type Selector =
  | { kind: 'priority'; priority: string }
  | { kind: 'essential' }
  | { kind: 'package'; name: string };

export interface ResolveRequest {
  /** The target's native architecture (dpkg --print-architecture). */
  arch: string;
  selectors: readonly Selector[];
  include: readonly string[];
  exclude: readonly string[];
  /** Names dropped from every dependency (debootstrap's EXCLUDE_DEPENDENCY: usrmerge on bookworm). */
  excludeDependencies: readonly string[];
  /** false for the `extract` variant: exactly the selected packages, no dependencies followed. */
  followDependencies: boolean;
}

export interface ResolvedPlan {
  /** Selected package versions in installation order: pre-dependencies first, then dependencies. */
  packages: PackageRecord[];
  /** Dependencies left unsatisfied because the user excluded every alternative. */
  droppedByExclude: string[];
}

interface Provided {
  record: PackageRecord;
  version?: string;
}

/** A queryable view of the indexes for one architecture. */
export class PackageUniverse {
  private readonly byName = new Map<string, PackageRecord[]>();
  private providers?: Map<string, Provided[]>;
  private readonly relationCache = new WeakMap<PackageRecord, { pre: AlternativeGroup[]; deps: AlternativeGroup[] }>();

  constructor(records: Iterable<PackageRecord>, readonly arch: string) {
    for (const r of records) {
      if (r.architecture !== arch && r.architecture !== 'all') continue;
      let list = this.byName.get(r.name);
      if (!list) this.byName.set(r.name, (list = []));
      list.push(r);
    }
    for (const list of this.byName.values()) list.sort((a, b) => compareVersions(b.version, a.version));
  }

  /** All versions of a real package, highest first. */
  versions(name: string): readonly PackageRecord[] {
    return this.byName.get(name) ?? [];
  }

  /** The candidate: the highest version, as apt picks it with default pins. */
  candidate(name: string): PackageRecord | undefined {
    return this.byName.get(name)?.[0];
  }

  names(): IterableIterator<string> {
    return this.byName.keys();
  }

  /** Candidates that provide `name` (Policy §7.5), with the provided version if any. */
  providersOf(name: string): readonly Provided[] {
    if (!this.providers) {
      this.providers = new Map();
      for (const list of this.byName.values()) {
        const record = list[0];
        if (!record?.provides) continue;
        for (const group of safeRelations(record.provides, record)) {
          for (const dep of group) {
            let p = this.providers.get(dep.name);
            if (!p) this.providers.set(dep.name, (p = []));
            p.push(dep.op === '=' && dep.version !== undefined ? { record, version: dep.version } : { record });
          }
        }
      }
    }
    return this.providers.get(name) ?? [];
  }

  relations(record: PackageRecord): { pre: AlternativeGroup[]; deps: AlternativeGroup[] } {
    let r = this.relationCache.get(record);
    if (!r) {
      r = { pre: safeRelations(record.preDepends, record), deps: safeRelations(record.depends, record) };
      this.relationCache.set(record, r);
    }
    return r;
  }
}

function safeRelations(field: string | undefined, record: PackageRecord): AlternativeGroup[] {
  try {
    return parseRelations(field);
  } catch (error) {
    if (error instanceof RelationSyntaxError) {
      throw new ResolveError('bad-relation', `package ${record.name} ${record.version}: ${error.message}`, {
        hint: 'the index is corrupt; use another mirror or --exclude the package',
      });
    }
    throw error;
  }
}

/** Does this record satisfy `dep` by itself (not through Provides)? */
export function satisfiesDirectly(record: PackageRecord, dep: Dependency, arch: string): boolean {
  if (record.name !== dep.name) return false;
  if (!archQualifierOk(record, dep.archQualifier, arch)) return false;
  if (dep.op && dep.version !== undefined) return satisfiesVersion(record.version, dep.op, dep.version);
  return true;
}

/**
 * Architecture qualifiers (Multi-Arch spec, Debian Policy §7.1): `pkg:any` needs Multi-Arch: allowed;
 * `pkg:native` and `pkg:ARCH` name the architecture. This solver builds single-architecture roots.
 */
function archQualifierOk(record: PackageRecord, qualifier: string | undefined, arch: string): boolean {
  if (qualifier === undefined) return true;
  if (qualifier === 'any') return record.multiArch === 'allowed';
  if (qualifier === 'native') return record.architecture === arch || record.architecture === 'all';
  return record.architecture === qualifier || (record.architecture === 'all' && qualifier === arch);
}

function providesSatisfy(p: Provided, dep: Dependency): boolean {
  if (dep.archQualifier === 'any' && p.record.multiArch !== 'allowed' && p.record.multiArch !== 'foreign') return false;
  if (!dep.op) return true;
  // An unversioned Provides never satisfies a versioned dependency (Policy §7.5).
  return p.version !== undefined && dep.version !== undefined && satisfiesVersion(p.version, dep.op, dep.version);
}

export function resolvePlan(universe: PackageUniverse, request: ResolveRequest): ResolvedPlan {
  const excluded = new Set(request.exclude);
  const excludedDeps = new Set(request.excludeDependencies);
  const selected = new Map<string, PackageRecord>();
  const queue: PackageRecord[] = [];
  const droppedByExclude: string[] = [];
  const parent = new Map<string, string>();

  const add = (record: PackageRecord, by?: string): void => {
    if (selected.has(record.name)) return;
    selected.set(record.name, record);
    if (by !== undefined) parent.set(record.name, by);
    queue.push(record);
  };

  // Seeds in a stable order: selectors, then --include.
  const seeds: string[] = [];
  for (const selector of request.selectors) {
    if (selector.kind === 'package') {
      seeds.push(selector.name);
      continue;
    }
    for (const name of [...universe.names()].sort()) {
      const c = universe.candidate(name)!;
      if (selector.kind === 'essential' ? c.essential : c.priority === selector.priority) seeds.push(name);
    }
  }
  seeds.push(...request.include);
  for (const name of seeds) {
    if (excluded.has(name)) continue;
    const c = universe.candidate(name);
    if (c) {
      add(c);
      continue;
    }
    const providers = universe.providersOf(name).filter((p) => !excluded.has(p.record.name));
    const first = pickProvider(providers);
    if (!first) {
      throw new ResolveError('no-such-package', `package ${name} is not in the index for ${request.arch}`, {
        hint: 'check the spelling, the --components and the --arch, or drop it from --include',
      });
    }
    add(first.record);
  }

  if (request.followDependencies) {
    while (queue.length > 0) {
      const record = queue.shift()!;
      const { pre, deps } = universe.relations(record);
      for (const rawGroup of [...pre, ...deps]) {
        const group = rawGroup.filter((d) => !excludedDeps.has(d.name));
        if (group.length === 0) continue;
        if (group.some((dep) => satisfiedBySelection(dep, selected, universe, request.arch))) continue;
        const choice = chooseAlternative(group, universe, request.arch, excluded, selected);
        if (choice === 'excluded') {
          droppedByExclude.push(`${record.name} -> ${formatGroup(rawGroup)}`);
          continue;
        }
        if (!choice) {
          const taken = group.map((d) => selected.get(d.name)).filter((r): r is PackageRecord => r !== undefined);
          const detail = taken.length ? `; selected already: ${taken.map((r) => `${r.name} ${r.version}`).join(', ')}` : '';
          throw new ResolveError('unsatisfiable', `cannot satisfy ${record.name} ${record.version} dependency "${formatGroup(rawGroup)}" (needed by ${chain(record.name, parent)})${detail}`, {
            hint: 'the index has no package that satisfies it; check --components, --arch and --exclude',
          });
        }
        add(choice, record.name);
      }
    }
    checkConflicts(selected, universe);
  }

  return { packages: installOrder(selected, universe), droppedByExclude };
}

function chain(name: string, parent: ReadonlyMap<string, string>): string {
  const path = [name];
  let cur = parent.get(name);
  while (cur !== undefined && path.length < 20) {
    path.push(cur);
    cur = parent.get(cur);
  }
  return path.length === 1 ? 'the selection' : path.reverse().join(' -> ');
}

function satisfiedBySelection(dep: Dependency, selected: ReadonlyMap<string, PackageRecord>, universe: PackageUniverse, arch: string): boolean {
  const real = selected.get(dep.name);
  if (real && satisfiesDirectly(real, dep, arch)) return true;
  return universe.providersOf(dep.name).some((p) => selected.get(p.record.name) === p.record && providesSatisfy(p, dep));
}

function chooseAlternative(group: AlternativeGroup, universe: PackageUniverse, arch: string, excluded: ReadonlySet<string>, selected: ReadonlyMap<string, PackageRecord>): PackageRecord | 'excluded' | undefined {
  let sawExcluded = false;
  // One version per package: a version other than the one already selected cannot be added.
  const selectable = (r: PackageRecord): boolean => !selected.has(r.name) || selected.get(r.name) === r;
  for (const dep of group) {
    const versions = universe.versions(dep.name);
    const real = versions.find((r) => satisfiesDirectly(r, dep, arch) && selectable(r));
    if (real) {
      if (excluded.has(real.name)) {
        sawExcluded = true;
        continue;
      }
      return real;
    }
    const providers = universe.providersOf(dep.name).filter((p) => providesSatisfy(p, dep) && selectable(p.record));
    const allowed = providers.filter((p) => !excluded.has(p.record.name));
    if (providers.length > 0 && allowed.length === 0) sawExcluded = true;
    const pick = pickProvider(allowed);
    if (pick) return pick.record;
  }
  return sawExcluded ? 'excluded' : undefined;
}

const PRIORITY_RANK: Record<string, number> = { required: 0, important: 1, standard: 2, optional: 3, extra: 4 };

/** Several providers: prefer the most important priority, then the name, so the choice is stable. */
function pickProvider(providers: readonly Provided[]): Provided | undefined {
  return [...providers].sort((a, b) => {
    const pa = PRIORITY_RANK[a.record.priority ?? 'optional'] ?? 3;
    const pb = PRIORITY_RANK[b.record.priority ?? 'optional'] ?? 3;
    return pa - pb || (a.record.name < b.record.name ? -1 : a.record.name > b.record.name ? 1 : 0);
  })[0];
}

function checkConflicts(selected: ReadonlyMap<string, PackageRecord>, universe: PackageUniverse): void {
  for (const record of selected.values()) {
    if (!record.conflicts) continue;
    for (const group of safeRelations(record.conflicts, record)) {
      for (const dep of group) {
        const other = selected.get(dep.name);
        if (other && other !== record && satisfiesDirectly(other, { ...dep, archQualifier: undefined } as Dependency, other.architecture)) {
          throw new ResolveError('conflict', `${record.name} ${record.version} conflicts with ${other.name} ${other.version}, and both are selected`, {
            hint: `--exclude one of them, or --include an alternative`,
          });
        }
        for (const p of universe.providersOf(dep.name)) {
          if (p.record !== record && selected.get(p.record.name) === p.record && (!dep.op || providesSatisfy(p, dep))) {
            throw new ResolveError('conflict', `${record.name} ${record.version} conflicts with ${dep.name}, provided by ${p.record.name}, and both are selected`, {
              hint: '--exclude one of them',
            });
          }
        }
      }
    }
  }
}

/**
 * Installation order: a depth-first post-order over Pre-Depends then Depends edges, so dependencies come
 * before their dependents; cycles (common among essential packages) are broken where they are found.
 */
function installOrder(selected: ReadonlyMap<string, PackageRecord>, universe: PackageUniverse): PackageRecord[] {
  const out: PackageRecord[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const arch = universe.arch;
  const visit = (record: PackageRecord): void => {
    if (state.has(record.name)) return;
    state.set(record.name, 'visiting');
    const { pre, deps } = universe.relations(record);
    for (const group of [...pre, ...deps]) {
      for (const dep of group) {
        const real = selected.get(dep.name);
        if (real && satisfiesDirectly(real, dep, arch)) {
          visit(real);
          break;
        }
        const prov = universe.providersOf(dep.name).find((p) => selected.get(p.record.name) === p.record);
        if (prov) {
          visit(prov.record);
          break;
        }
      }
    }
    state.set(record.name, 'done');
    out.push(record);
  };
  for (const name of [...selected.keys()].sort()) visit(selected.get(name)!);
  return out;
}
