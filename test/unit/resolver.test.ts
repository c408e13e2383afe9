import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ResolveError } from '../../src/errors.js';
import type { PackageRecord } from '../../src/formats/deb/packages-index.js';
import { parseRelations } from '../../src/formats/deb/relation.js';
import { satisfiesVersion } from '../../src/formats/deb/version.js';
import { PackageUniverse, type ResolvedPlan, type ResolveRequest, resolvePlan, satisfiesDirectly, type Selector } from '../../src/resolve/deb-resolver.js';

interface PkgOptions {
  version?: string;
  architecture?: string;
  depends?: string;
  preDepends?: string;
  provides?: string;
  conflicts?: string;
  priority?: string;
  essential?: boolean;
  multiArch?: PackageRecord['multiArch'];
}

function pkg(name: string, o: PkgOptions = {}): PackageRecord {
  const r: PackageRecord = {
    name,
    version: o.version ?? '1.0',
    architecture: o.architecture ?? 'amd64',
    essential: o.essential ?? false,
    filename: 'pool/x.deb',
    size: 1,
    sha256: '0'.repeat(64),
    component: 'main',
  };
  for (const key of ['depends', 'preDepends', 'provides', 'conflicts', 'priority', 'multiArch'] as const) {
    if (o[key] !== undefined) (r as unknown as Record<string, unknown>)[key] = o[key];
  }
  return r;
}

function request(over: Partial<ResolveRequest> = {}): ResolveRequest {
  return { arch: 'amd64', selectors: [], include: [], exclude: [], excludeDependencies: [], followDependencies: true, ...over };
}

const only = (...names: string[]): Selector[] => names.map((name) => ({ kind: 'package', name }));

function resolve(records: PackageRecord[], over: Partial<ResolveRequest> = {}): ResolvedPlan {
  return resolvePlan(new PackageUniverse(records, over.arch ?? 'amd64'), request(over));
}

const names = (plan: ResolvedPlan): string[] => plan.packages.map((p) => p.name).sort();
const pick = (plan: ResolvedPlan, name: string): PackageRecord | undefined => plan.packages.find((p) => p.name === name);

function expectResolveError(fn: () => unknown, code: string): ResolveError {
  try {
    fn();
  } catch (error) {
    assert.instance(error, ResolveError);
    assert.is((error as ResolveError).code, code, (error as Error).message);
    assert.is((error as ResolveError).kind, 'resolve');
    return error as ResolveError;
  }
  assert.unreachable(`expected ResolveError ${code}`);
  throw new Error('unreachable');
}

/**
 * The plan's own invariant, independent of how the solver works: every Depends/Pre-Depends group of every
 * planned package (minus excludeDependencies) is satisfied by a planned package (directly, or by a
 * versioned-or-unversioned Provides as Policy 7.5 allows), and each dependency comes before its dependent
 * unless they are in a cycle.
 */
function assertPlanConsistent(plan: ResolvedPlan, arch = 'amd64', excludeDependencies: string[] = []): void {
  const byName = new Map(plan.packages.map((p) => [p.name, p]));
  assert.is(byName.size, plan.packages.length, 'one version per package');
  for (const record of plan.packages) {
    for (const group of [...parseRelations(record.preDepends), ...parseRelations(record.depends)]) {
      const alternatives = group.filter((d) => !excludeDependencies.includes(d.name));
      if (alternatives.length === 0) continue;
      const ok = alternatives.some((dep) => {
        const real = byName.get(dep.name);
        if (real && satisfiesDirectly(real, dep, arch)) return true;
        return plan.packages.some((p) =>
          parseRelations(p.provides).some((g) =>
            g.some((pr) => pr.name === dep.name && (!dep.op || (pr.op === '=' && pr.version !== undefined && satisfiesVersion(pr.version, dep.op, dep.version!)))),
          ),
        );
      });
      if (!ok && plan.droppedByExclude.some((d) => d.startsWith(`${record.name} -> `))) continue;
      assert.ok(ok, `${record.name} ${record.version}: dependency ${JSON.stringify(group)} is not satisfied by the plan ${JSON.stringify(plan.packages.map((p) => `${p.name} ${p.version}`))}`);
    }
  }
}

const before = (plan: ResolvedPlan, a: string, b: string): boolean => {
  const order = plan.packages.map((p) => p.name);
  assert.ok(order.includes(a), `${a} planned`);
  assert.ok(order.includes(b), `${b} planned`);
  return order.indexOf(a) < order.indexOf(b);
};

// ---------------------------------------------------------------------------------------------------------
// PackageUniverse

test('PackageUniverse keeps the native architecture and all, highest version first', () => {
  const u = new PackageUniverse([
    pkg('a', { version: '1.0' }),
    pkg('a', { version: '1:0.1' }),
    pkg('a', { version: '2.0' }),
    pkg('a', { version: '9.0', architecture: 'i386' }),
    pkg('b', { architecture: 'all' }),
    pkg('c', { architecture: 'arm64' }),
  ], 'amd64');
  assert.equal(u.versions('a').map((r) => r.version), ['1:0.1', '2.0', '1.0']);
  assert.is(u.candidate('a')!.version, '1:0.1');
  assert.is(u.candidate('b')!.architecture, 'all');
  assert.is(u.candidate('c'), undefined);
  assert.equal(u.versions('c'), []);
  assert.equal([...u.names()].sort(), ['a', 'b']);
});

test('providersOf: the candidate version provides, with the version of a versioned Provides', () => {
  const u = new PackageUniverse([
    pkg('p', { version: '2', provides: 'v (= 5), w' }),
    pkg('p', { version: '1', provides: 'old-virtual' }),
    pkg('q', { provides: 'v' }),
  ], 'amd64');
  assert.equal(u.providersOf('v').map((p) => [p.record.name, p.version]).sort(), [['p', '5'], ['q', undefined]]);
  assert.equal(u.providersOf('w').map((p) => p.record.name), ['p']);
  assert.equal(u.providersOf('old-virtual'), []);
  assert.equal(u.providersOf('nothing'), []);
});

// ---------------------------------------------------------------------------------------------------------
// Selectors, --include, --exclude

const WORLD = [
  pkg('base-files', { priority: 'required', essential: true }),
  pkg('bash', { priority: 'required', essential: true }),
  pkg('mawk', { priority: 'required' }),
  pkg('apt', { priority: 'important' }),
  pkg('less', { priority: 'important' }),
  pkg('vim', { priority: 'optional' }),
  pkg('ed', { priority: 'extra' }),
  pkg('nopri'),
];

test('priority selector', () => {
  assert.equal(names(resolve(WORLD, { selectors: [{ kind: 'priority', priority: 'required' }] })), ['base-files', 'bash', 'mawk']);
  assert.equal(names(resolve(WORLD, { selectors: [{ kind: 'priority', priority: 'important' }] })), ['apt', 'less']);
});

test('essential selector', () => {
  assert.equal(names(resolve(WORLD, { selectors: [{ kind: 'essential' }] })), ['base-files', 'bash']);
});

test('package selector, and selectors are a union', () => {
  assert.equal(names(resolve(WORLD, { selectors: only('vim') })), ['vim']);
  assert.equal(names(resolve(WORLD, { selectors: [{ kind: 'essential' }, { kind: 'priority', priority: 'important' }, { kind: 'package', name: 'ed' }] })), ['apt', 'base-files', 'bash', 'ed', 'less']);
});

test('the selectors look at the candidate version only', () => {
  const plan = resolve([pkg('x', { version: '2', priority: 'optional' }), pkg('x', { version: '1', priority: 'required' })], { selectors: [{ kind: 'priority', priority: 'required' }] });
  assert.equal(names(plan), []);
});

test('--include adds packages; --exclude removes them even when a selector picked them', () => {
  const plan = resolve(WORLD, { selectors: [{ kind: 'priority', priority: 'required' }], include: ['vim', 'ed'], exclude: ['mawk'] });
  assert.equal(names(plan), ['base-files', 'bash', 'ed', 'vim']);
});

test('an --include that is also excluded is not installed', () => {
  assert.equal(names(resolve(WORLD, { include: ['vim'], exclude: ['vim'] })), []);
});

test('an unknown --include is ResolveError no-such-package', () => {
  const e = expectResolveError(() => resolve(WORLD, { include: ['no-such-thing'] }), 'no-such-package');
  assert.match(e.message, 'no-such-thing');
  assert.match(e.message, 'amd64');
});

test('an unknown package selector is ResolveError no-such-package', () => {
  expectResolveError(() => resolve(WORLD, { selectors: only('missing') }), 'no-such-package');
});

test('an --include of a package of another architecture only is no-such-package', () => {
  expectResolveError(() => resolve([pkg('foreign', { architecture: 'arm64' })], { include: ['foreign'] }), 'no-such-package');
});

test('an --include of a virtual package installs a provider', () => {
  const plan = resolve([pkg('postfix', { provides: 'mail-transport-agent', priority: 'optional' })], { include: ['mail-transport-agent'] });
  assert.equal(names(plan), ['postfix']);
});

test('an --include of a virtual package whose providers are all excluded is no-such-package', () => {
  expectResolveError(() => resolve([pkg('postfix', { provides: 'mta' })], { include: ['mta'], exclude: ['postfix'] }), 'no-such-package');
});

// ---------------------------------------------------------------------------------------------------------
// Alternatives and virtual packages

test('dependencies are followed transitively', () => {
  const plan = resolve([pkg('a', { depends: 'b' }), pkg('b', { depends: 'c (>= 1)' }), pkg('c', { version: '1.5' }), pkg('unrelated')], { selectors: only('a') });
  assert.equal(names(plan), ['a', 'b', 'c']);
  assertPlanConsistent(plan);
});

test('alternatives: the first installable one is chosen', () => {
  const records = [pkg('a', { depends: 'missing | b (>= 2) | c | d' }), pkg('b', { version: '1' }), pkg('c'), pkg('d')];
  const plan = resolve(records, { selectors: only('a') });
  assert.equal(names(plan), ['a', 'c']);
  assertPlanConsistent(plan);
});

test('alternatives: one already selected is preferred over the first', () => {
  const records = [pkg('a', { depends: 'b | c' }), pkg('b'), pkg('c')];
  assert.equal(names(resolve(records, { selectors: only('a', 'c') })), ['a', 'c']);
  assert.equal(names(resolve(records, { selectors: only('c', 'a') })), ['a', 'c']);
  assert.equal(names(resolve(records, { selectors: only('a') })), ['a', 'b']);
});

test('alternatives: a selected provider of a later virtual alternative is preferred', () => {
  const records = [pkg('a', { depends: 'b | virt' }), pkg('b'), pkg('p', { provides: 'virt' })];
  assert.equal(names(resolve(records, { selectors: only('a', 'p') })), ['a', 'p']);
});

test('virtual package with a single provider', () => {
  const records = [pkg('a', { depends: 'awk' }), pkg('mawk', { provides: 'awk' })];
  const plan = resolve(records, { selectors: only('a') });
  assert.equal(names(plan), ['a', 'mawk']);
  assertPlanConsistent(plan);
});

test('virtual package with several providers: the most important priority wins, then the name', () => {
  const providers = [
    pkg('zz-required', { provides: 'mta', priority: 'required' }),
    pkg('aa-optional', { provides: 'mta', priority: 'optional' }),
    pkg('mm-important', { provides: 'mta', priority: 'important' }),
    pkg('bb-standard', { provides: 'mta', priority: 'standard' }),
  ];
  const a = pkg('a', { depends: 'mta' });
  for (const order of [providers, [...providers].reverse()]) {
    assert.equal(names(resolve([a, ...order], { selectors: only('a') })), ['a', 'zz-required']);
  }
  const tie = [pkg('zeta', { provides: 'mta', priority: 'optional' }), pkg('alpha', { provides: 'mta', priority: 'optional' }), pkg('mid', { provides: 'mta' })];
  for (const order of [tie, [...tie].reverse()]) {
    assert.equal(names(resolve([a, ...order], { selectors: only('a') })), ['a', 'alpha']);
  }
});

test('an excluded provider is skipped for another one', () => {
  const records = [pkg('a', { depends: 'mta' }), pkg('exim4', { provides: 'mta', priority: 'standard' }), pkg('postfix', { provides: 'mta', priority: 'optional' })];
  const plan = resolve(records, { selectors: only('a'), exclude: ['exim4'] });
  assert.equal(names(plan), ['a', 'postfix']);
  assert.equal(plan.droppedByExclude, []);
});

test('a versioned Provides satisfies a versioned dependency', () => {
  const records = [pkg('a', { depends: 'libfoo-abi (>= 2)' }), pkg('libfoo2', { provides: 'libfoo-abi (= 3)' })];
  const plan = resolve(records, { selectors: only('a') });
  assert.equal(names(plan), ['a', 'libfoo2']);
  assertPlanConsistent(plan);
});

test('a versioned Provides whose version is too low does not satisfy', () => {
  const records = [pkg('a', { depends: 'libfoo-abi (>= 4)' }), pkg('libfoo2', { provides: 'libfoo-abi (= 3)' })];
  expectResolveError(() => resolve(records, { selectors: only('a') }), 'unsatisfiable');
});

test('an unversioned Provides does NOT satisfy a versioned dependency (Policy 7.5)', () => {
  const records = [pkg('a', { depends: 'virt (>= 1)' }), pkg('p', { provides: 'virt' })];
  expectResolveError(() => resolve(records, { selectors: only('a') }), 'unsatisfiable');
  // ...but it does satisfy an unversioned one.
  assert.equal(names(resolve([pkg('a', { depends: 'virt' }), pkg('p', { provides: 'virt' })], { selectors: only('a') })), ['a', 'p']);
});

test('an unversioned Provides of a selected package does not satisfy a versioned dependency either', () => {
  const records = [pkg('a', { depends: 'virt (>= 1) | real' }), pkg('p', { provides: 'virt' }), pkg('real')];
  const plan = resolve(records, { selectors: only('p', 'a') });
  assert.equal(names(plan), ['a', 'p', 'real']);
});

test('a real package that is too old falls back to a provider of the same name', () => {
  const records = [pkg('a', { depends: 'foo (>= 2)' }), pkg('foo', { version: '1' }), pkg('foo-ng', { provides: 'foo (= 2.5)' })];
  assert.equal(names(resolve(records, { selectors: only('a') })), ['a', 'foo-ng']);
});

// ---------------------------------------------------------------------------------------------------------
// Versions

test('several versions: the highest is chosen', () => {
  const records = [pkg('b', { version: '1.0' }), pkg('b', { version: '1.0+b1' }), pkg('b', { version: '0.9' }), pkg('a', { depends: 'b' })];
  assert.is(pick(resolve(records, { selectors: only('a') }), 'b')!.version, '1.0+b1');
  assert.is(pick(resolve(records, { selectors: only('b') }), 'b')!.version, '1.0+b1');
});

test('several versions: a lower one is chosen when only it satisfies a << constraint', () => {
  const records = [pkg('b', { version: '2.0' }), pkg('b', { version: '1.5' }), pkg('b', { version: '1.0' }), pkg('a', { depends: 'b (<< 2)' })];
  const plan = resolve(records, { selectors: only('a') });
  assert.is(pick(plan, 'b')!.version, '1.5');
  assertPlanConsistent(plan);
});

test('several versions: = picks exactly that version', () => {
  const records = [pkg('b', { version: '2.0' }), pkg('b', { version: '1.0' }), pkg('a', { depends: 'b (= 1.0)' })];
  assert.is(pick(resolve(records, { selectors: only('a') }), 'b')!.version, '1.0');
});

// Regression (found by this suite, fixed in d973e32): when the candidate of a package was already selected and
// a later dependency needed an older version (`b (<< 2)`), chooseAlternative returned the older record, add()
// ignored it because the name was taken, and the plan silently held b 2.0 although a needs b << 2.
test('a version constraint that the already selected version violates is not silently ignored', () => {
  const records = [pkg('b', { version: '2.0' }), pkg('b', { version: '1.0' }), pkg('a', { depends: 'b (<< 2)' })];
  let plan: ResolvedPlan;
  try {
    plan = resolve(records, { selectors: only('b', 'a') });
  } catch (error) {
    assert.instance(error, ResolveError);
    assert.is((error as ResolveError).code, 'unsatisfiable');
    assert.match((error as Error).message, 'b (<< 2)');
    return;
  }
  assertPlanConsistent(plan);
});

// ---------------------------------------------------------------------------------------------------------
// Pre-Depends, architectures

test('Pre-Depends are followed', () => {
  const records = [pkg('a', { preDepends: 'b', depends: 'c' }), pkg('b', { preDepends: 'd (>= 1)' }), pkg('c'), pkg('d', { version: '3' })];
  const plan = resolve(records, { selectors: only('a') });
  assert.equal(names(plan), ['a', 'b', 'c', 'd']);
  assertPlanConsistent(plan);
});

test(':any needs Multi-Arch: allowed', () => {
  const a = pkg('a', { depends: 'python3:any' });
  assert.equal(names(resolve([a, pkg('python3', { multiArch: 'allowed' })], { selectors: only('a') })), ['a', 'python3']);
  for (const multiArch of [undefined, 'no', 'same', 'foreign'] as const) {
    const e = expectResolveError(() => resolve([a, pkg('python3', multiArch ? { multiArch } : {})], { selectors: only('a') }), 'unsatisfiable');
    assert.match(e.message, 'python3:any');
  }
});

test(':native is satisfied by the native architecture and by all', () => {
  assert.equal(names(resolve([pkg('a', { depends: 'perl:native' }), pkg('perl')], { selectors: only('a') })), ['a', 'perl']);
  assert.equal(names(resolve([pkg('a', { depends: 'perl:native' }), pkg('perl', { architecture: 'all' })], { selectors: only('a') })), ['a', 'perl']);
});

test('an explicit :ARCH qualifier matches only that architecture', () => {
  assert.equal(names(resolve([pkg('a', { depends: 'lib:amd64' }), pkg('lib')], { selectors: only('a') })), ['a', 'lib']);
  expectResolveError(() => resolve([pkg('a', { depends: 'lib:i386' }), pkg('lib'), pkg('lib', { architecture: 'i386' })], { selectors: only('a') }), 'unsatisfiable');
});

test('packages of other architectures are ignored, even with a higher version', () => {
  const records = [pkg('a', { depends: 'b' }), pkg('b', { version: '1' }), pkg('b', { version: '9', architecture: 'i386' }), pkg('c', { architecture: 'arm64' })];
  const plan = resolve(records, { selectors: only('a') });
  assert.is(pick(plan, 'b')!.version, '1');
  assert.is(pick(plan, 'b')!.architecture, 'amd64');
  expectResolveError(() => resolve([pkg('a', { depends: 'c' }), pkg('c', { architecture: 'arm64' })], { selectors: only('a') }), 'unsatisfiable');
});

test('the request architecture decides what is native', () => {
  const records = [pkg('a', { architecture: 'arm64', depends: 'b' }), pkg('b', { architecture: 'arm64' }), pkg('b', { architecture: 'amd64', version: '5' })];
  const plan = resolve(records, { arch: 'arm64', selectors: only('a') });
  assert.equal(plan.packages.map((p) => `${p.name}:${p.architecture}`).sort(), ['a:arm64', 'b:arm64']);
});

// ---------------------------------------------------------------------------------------------------------
// Exclusions

test('excludeDependencies drops an alternative: bookworm usrmerge | usr-is-merged', () => {
  const records = [
    pkg('init-system-helpers', { priority: 'required', depends: 'perl-base, usrmerge | usr-is-merged' }),
    pkg('perl-base', { essential: true }),
    pkg('usrmerge', { depends: 'perl' }),
    pkg('perl'),
    pkg('usr-is-merged'),
  ];
  const withDrop = resolve(records, { selectors: [{ kind: 'priority', priority: 'required' }], excludeDependencies: ['usrmerge'] });
  assert.equal(names(withDrop), ['init-system-helpers', 'perl-base', 'usr-is-merged']);
  assert.equal(withDrop.droppedByExclude, []);
  const without = resolve(records, { selectors: [{ kind: 'priority', priority: 'required' }] });
  assert.equal(names(without), ['init-system-helpers', 'perl', 'perl-base', 'usrmerge']);
});

test('excludeDependencies dropping a whole group leaves nothing to satisfy', () => {
  const plan = resolve([pkg('a', { depends: 'usrmerge' })], { selectors: only('a'), excludeDependencies: ['usrmerge'] });
  assert.equal(names(plan), ['a']);
  assert.equal(plan.droppedByExclude, []);
});

test('--exclude leaving a dependency unsatisfied is reported in droppedByExclude, not an error', () => {
  const records = [pkg('a', { depends: 'b (>= 1) | c, d' }), pkg('b', { version: '2' }), pkg('c'), pkg('d')];
  const plan = resolve(records, { selectors: only('a'), exclude: ['b', 'c'] });
  assert.equal(names(plan), ['a', 'd']);
  assert.equal(plan.droppedByExclude, ['a -> b (>= 1) | c']);
});

test('--exclude of the only provider of a virtual dependency is reported in droppedByExclude', () => {
  const plan = resolve([pkg('a', { depends: 'mta' }), pkg('exim4', { provides: 'mta' })], { selectors: only('a'), exclude: ['exim4'] });
  assert.equal(names(plan), ['a']);
  assert.equal(plan.droppedByExclude, ['a -> mta']);
});

test('an excluded alternative falls through to the next one', () => {
  const plan = resolve([pkg('a', { depends: 'b | c' }), pkg('b'), pkg('c')], { selectors: only('a'), exclude: ['b'] });
  assert.equal(names(plan), ['a', 'c']);
  assert.equal(plan.droppedByExclude, []);
});

// ---------------------------------------------------------------------------------------------------------
// Errors

test('an unsatisfiable dependency is ResolveError unsatisfiable naming the chain', () => {
  const records = [pkg('top', { depends: 'middle' }), pkg('middle', { depends: 'leaf' }), pkg('leaf', { version: '3', depends: 'missing (>= 2) | gone' })];
  const e = expectResolveError(() => resolve(records, { selectors: only('top') }), 'unsatisfiable');
  assert.match(e.message, 'leaf 3');
  assert.match(e.message, 'missing (>= 2) | gone');
  assert.match(e.message, 'top -> middle -> leaf');
});

test('an unsatisfiable dependency of a seed says "the selection"', () => {
  const e = expectResolveError(() => resolve([pkg('seed', { depends: 'missing' })], { selectors: only('seed') }), 'unsatisfiable');
  assert.match(e.message, 'the selection');
});

test('an unparsable relation field is ResolveError bad-relation', () => {
  const e = expectResolveError(() => resolve([pkg('a', { depends: 'b (>= 1' })], { selectors: only('a') }), 'bad-relation');
  assert.match(e.message, 'a 1.0');
});

test('Conflicts between two selected packages is ResolveError conflict', () => {
  const e = expectResolveError(() => resolve([pkg('a', { conflicts: 'b' }), pkg('b')], { selectors: only('a', 'b') }), 'conflict');
  assert.match(e.message, 'a 1.0 conflicts with b 1.0');
  // Either side may declare it.
  expectResolveError(() => resolve([pkg('a'), pkg('b', { conflicts: 'a' })], { selectors: only('a', 'b') }), 'conflict');
});

test('Conflicts reached through dependencies is ResolveError conflict', () => {
  expectResolveError(() => resolve([pkg('a', { depends: 'b, c' }), pkg('b', { conflicts: 'c' }), pkg('c')], { selectors: only('a') }), 'conflict');
});

test('a versioned Conflicts only conflicts with the versions it names', () => {
  const records = [pkg('a', { conflicts: 'b (<< 2)' }), pkg('b', { version: '2' })];
  assert.equal(names(resolve(records, { selectors: only('a', 'b') })), ['a', 'b']);
  expectResolveError(() => resolve([pkg('a', { conflicts: 'b (<< 2)' }), pkg('b', { version: '1' })], { selectors: only('a', 'b') }), 'conflict');
});

test('Conflicts with a virtual package provided by another selected package is a conflict', () => {
  expectResolveError(() => resolve([pkg('exim4', { provides: 'mta', conflicts: 'mta' }), pkg('postfix', { provides: 'mta', conflicts: 'mta' })], { selectors: only('exim4', 'postfix') }), 'conflict');
});

test('a package that conflicts with what it provides itself is fine (the Debian idiom)', () => {
  assert.equal(names(resolve([pkg('exim4', { provides: 'mta', conflicts: 'mta' })], { selectors: only('exim4') })), ['exim4']);
});

test('Conflicts with an unselected package is fine', () => {
  assert.equal(names(resolve([pkg('a', { conflicts: 'b' }), pkg('b')], { selectors: only('a') })), ['a']);
});

// ---------------------------------------------------------------------------------------------------------
// extract, order, cycles

test('followDependencies: false installs exactly the seeds', () => {
  const records = [pkg('a', { depends: 'b', preDepends: 'c' }), pkg('b'), pkg('c'), pkg('d', { depends: 'missing' })];
  const plan = resolve(records, { selectors: only('a', 'd'), followDependencies: false });
  assert.equal(names(plan), ['a', 'd']);
  assert.equal(plan.droppedByExclude, []);
});

test('followDependencies: false does not check conflicts among seeds either way (extract only unpacks)', () => {
  const plan = resolve([pkg('a', { conflicts: 'b' }), pkg('b')], { selectors: only('a', 'b'), followDependencies: false });
  assert.equal(names(plan), ['a', 'b']);
});

test('install order puts dependencies and pre-dependencies before their dependents', () => {
  const records = [
    pkg('app', { depends: 'lib-b, mta', preDepends: 'lib-a' }),
    pkg('lib-a', { depends: 'libc' }),
    pkg('lib-b', { preDepends: 'libc' }),
    pkg('libc'),
    pkg('exim', { provides: 'mta', depends: 'lib-b' }),
    pkg('aaa-first-by-name', { depends: 'app' }),
  ];
  const plan = resolve(records, { selectors: only('aaa-first-by-name') });
  assert.equal(names(plan), ['aaa-first-by-name', 'app', 'exim', 'lib-a', 'lib-b', 'libc']);
  for (const [dep, dependent] of [['libc', 'lib-a'], ['libc', 'lib-b'], ['lib-a', 'app'], ['lib-b', 'app'], ['exim', 'app'], ['lib-b', 'exim'], ['app', 'aaa-first-by-name']]) {
    assert.ok(before(plan, dep!, dependent!), `${dep} before ${dependent}: ${plan.packages.map((p) => p.name).join(' ')}`);
  }
  assertPlanConsistent(plan);
});

test('the order is deterministic whatever the order of the index', () => {
  const records = [pkg('a', { depends: 'b, c' }), pkg('b', { depends: 'd' }), pkg('c', { depends: 'd' }), pkg('d'), pkg('e')];
  const first = resolve(records, { selectors: only('a', 'e') }).packages.map((p) => p.name);
  const second = resolve([...records].reverse(), { selectors: only('e', 'a') }).packages.map((p) => p.name);
  assert.equal(second, first);
});

test('dependency cycles terminate and include every member', () => {
  const records = [pkg('a', { depends: 'b' }), pkg('b', { preDepends: 'c' }), pkg('c', { depends: 'a' }), pkg('self', { depends: 'self' })];
  const plan = resolve(records, { selectors: only('a', 'self') });
  assert.equal(names(plan), ['a', 'b', 'c', 'self']);
  assertPlanConsistent(plan);
  // Outside the cycle the order still holds.
  const tail = resolve([...records, pkg('x', { depends: 'a' })], { selectors: only('x') });
  assert.ok(before(tail, 'a', 'x'));
  assert.ok(before(tail, 'c', 'x'));
});

test('a larger synthetic base system resolves consistently', () => {
  const records = [
    pkg('base-files', { essential: true, priority: 'required', preDepends: 'awk' }),
    pkg('mawk', { priority: 'required', provides: 'awk', preDepends: 'libc6 (>= 2.29)' }),
    pkg('gawk', { priority: 'optional', provides: 'awk' }),
    pkg('libc6', { version: '2.36-9', priority: 'optional', depends: 'libgcc-s1' }),
    pkg('libc6', { version: '2.31-13', priority: 'optional' }),
    pkg('libgcc-s1', { version: '12.2.0-14', depends: 'gcc-12-base (= 12.2.0-14), libc6 (>= 2.35)' }),
    pkg('gcc-12-base', { version: '12.2.0-14', multiArch: 'same' }),
    pkg('dpkg', { essential: true, priority: 'required', preDepends: 'libc6 (>= 2.34), tar (>= 1.28-1)', depends: 'perl-base:any' }),
    pkg('tar', { version: '1.34+dfsg-1.2', essential: true, priority: 'required' }),
    pkg('perl-base', { essential: true, priority: 'required', multiArch: 'allowed' }),
    pkg('apt', { priority: 'important', depends: 'adduser | passwd' }),
    pkg('passwd', { priority: 'required' }),
    pkg('adduser', { priority: 'important', architecture: 'all', depends: 'passwd' }),
  ];
  const plan = resolve(records, { selectors: [{ kind: 'essential' }, { kind: 'priority', priority: 'required' }, { kind: 'package', name: 'apt' }] });
  assert.equal(names(plan), ['apt', 'base-files', 'dpkg', 'gcc-12-base', 'libc6', 'libgcc-s1', 'mawk', 'passwd', 'perl-base', 'tar']);
  assert.is(pick(plan, 'libc6')!.version, '2.36-9');
  assertPlanConsistent(plan);
  assert.ok(before(plan, 'mawk', 'base-files'));
  assert.ok(before(plan, 'tar', 'dpkg'));
});

test.run();
