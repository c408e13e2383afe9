import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { RecipeError } from '../../src/errors.js';
import { loadFamilies, lookupSuite, RECIPES_DIR, releaseForCodename, validateFamily } from '../../src/recipe/recipe.js';

let tmp = '';
test.before.each(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'rootstrap-recipe-'));
});
test.after.each(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
  tmp = '';
});

async function expectRecipeError(fn: () => Promise<unknown> | unknown, code: string): Promise<RecipeError> {
  try {
    await fn();
  } catch (error) {
    assert.instance(error, RecipeError);
    assert.is((error as RecipeError).code, code, (error as Error).message);
    assert.is((error as RecipeError).kind, 'recipe');
    return error as RecipeError;
  }
  assert.unreachable(`expected RecipeError ${code}`);
  throw new Error('unreachable');
}

/** A small valid family; `vendor` and codenames are parameters for the multi-family tests. */
function familyData(vendor = 'testvendor', codenames = ['alpha', 'beta'], aliases = ['stable']): Record<string, unknown> {
  return {
    vendor,
    name: `${vendor} Linux`,
    format: 'deb',
    suiteAliases: aliases,
    components: ['main'],
    keyrings: ['/usr/share/keyrings/test.gpg'],
    hostSources: { pathSuffixes: [`/${vendor}`] },
    defaultVariant: 'default',
    variants: {
      default: { selectors: [{ essential: true }, { priority: 'required' }, { package: 'apt' }] },
      extract: { selectors: [], followDependencies: false, configure: false },
    },
    mergedUsr: { links: ['bin'], archLinks: { amd64: ['lib64'] } },
    configure: { preinstFirst: ['base-passwd'] },
    releases: codenames.map((codename, i) => ({ codename, version: String(i + 1) })),
  };
}

async function writeFamilies(dir: string, families: Record<string, unknown>): Promise<void> {
  await mkdir(dir, { recursive: true });
  for (const [file, data] of Object.entries(families)) await writeFile(join(dir, file), JSON.stringify(data));
}

// ---------------------------------------------------------------------------------------------------------
// The real recipes

test('every real recipe file loads and validates', async () => {
  const files = (await readdir(RECIPES_DIR)).filter((n) => n.endsWith('.json')).sort();
  assert.ok(files.length > 0, 'recipes/ has family files');
  const families = await loadFamilies();
  assert.equal(families.map((f) => f.file), files);
  for (const file of files) {
    // validateFamily on the raw JSON gives the same result as the loader.
    const data: unknown = JSON.parse(await readFile(join(RECIPES_DIR, file), 'utf8'));
    const family = validateFamily(file, data);
    assert.equal(family, families.find((f) => f.file === file));
    assert.ok(family.variants[family.defaultVariant], `${file}: the default variant exists`);
    assert.ok(family.releases.length > 0);
    assert.ok(family.components.length > 0);
    assert.ok(family.keyrings.length > 0);
  }
});

test('codenames are unique across all families, and no alias is also a codename', async () => {
  const families = await loadFamilies();
  const codenames = families.flatMap((f) => f.releases.map((r) => r.codename));
  assert.is(new Set(codenames).size, codenames.length, `duplicate codenames: ${codenames.join(', ')}`);
  for (const f of families) for (const alias of f.suiteAliases) assert.not.ok(codenames.includes(alias), `${f.file}: alias ${alias} is a codename`);
});

test('recipe files name no mirror host', async () => {
  for (const file of (await readdir(RECIPES_DIR)).filter((n) => n.endsWith('.json'))) {
    const text = await readFile(join(RECIPES_DIR, file), 'utf8');
    assert.not.match(text, /[a-z]+:\/\//i, `${file} contains a URL`);
  }
});

test('keyrings listed by the recipes exist on this host (or are reported)', async () => {
  const families = await loadFamilies();
  const missing: string[] = [];
  for (const f of families) for (const k of f.keyrings) if (!existsSync(k)) missing.push(`${f.file}: ${k}`);
  if (missing.length > 0) console.log(`  note: keyrings missing on this host: ${missing.join('; ')}`);
  // The test machine has Debian's keyring; require that one.
  const debian = families.find((f) => f.vendor === 'debian');
  assert.ok(debian, 'a debian family exists');
  assert.ok(debian!.keyrings.includes('/usr/share/keyrings/debian-archive-keyring.gpg'));
  if (existsSync('/usr/share/keyrings/debian-archive-keyring.gpg')) assert.not.ok(missing.some((m) => m.includes('debian-archive-keyring.gpg')));
});

// ---------------------------------------------------------------------------------------------------------
// lookupSuite and releaseForCodename on the real recipes

test("lookupSuite('bookworm') is debian with its release", async () => {
  const m = await lookupSuite('bookworm');
  assert.is(m.family.vendor, 'debian');
  assert.is(m.suite, 'bookworm');
  assert.is(m.release?.codename, 'bookworm');
  assert.is(m.release?.version, '12');
  assert.equal(m.release?.excludeDependencies, ['usrmerge']);
});

test("an alias ('stable') matches the family without a release", async () => {
  const m = await lookupSuite('stable');
  assert.is(m.family.vendor, 'debian');
  assert.is(m.suite, 'stable');
  assert.is(m.release, undefined);
});

test('releaseForCodename: an alias becomes the release the Release file names', async () => {
  const m = await lookupSuite('stable');
  assert.is(releaseForCodename(m, 'bookworm', 'InRelease').codename, 'bookworm');
  assert.is(releaseForCodename(m, 'trixie', 'InRelease').codename, 'trixie');
});

test('releaseForCodename: an alias whose codename has no recipe is RecipeError unknown-codename', async () => {
  const m = await lookupSuite('testing');
  const e = await expectRecipeError(() => releaseForCodename(m, 'zzz-future', 'InRelease'), 'unknown-codename');
  assert.match(e.message, 'zzz-future');
  await expectRecipeError(() => releaseForCodename(m, undefined, 'InRelease'), 'unknown-codename');
});

test('releaseForCodename: a codename suite with the same or no Codename is fine', async () => {
  const m = await lookupSuite('bookworm');
  assert.is(releaseForCodename(m, 'bookworm', 'InRelease'), m.release);
  assert.is(releaseForCodename(m, undefined, 'InRelease'), m.release);
});

test('releaseForCodename: a codename suite whose Release says another Codename is RecipeError codename-mismatch', async () => {
  const m = await lookupSuite('bookworm');
  const e = await expectRecipeError(() => releaseForCodename(m, 'bullseye', 'mirror InRelease'), 'codename-mismatch');
  assert.match(e.message, 'bullseye');
  assert.match(e.message, 'mirror InRelease');
});

test('an unknown suite is RecipeError unknown-suite listing the known ones', async () => {
  const e = await expectRecipeError(() => lookupSuite('no-such-suite'), 'unknown-suite');
  assert.match(e.message, 'bookworm');
});

for (const bad of ['', '../etc', 'a/b', '-x', 'with space', 'x;rm']) {
  test(`an invalid suite name ${JSON.stringify(bad)} is RecipeError bad-suite`, async () => {
    await expectRecipeError(() => lookupSuite(bad), 'bad-suite');
  });
}

test("RECIPE argument: lookupSuite('mysuite', 'bookworm') uses bookworm's recipe under the new name", async () => {
  const m = await lookupSuite('mysuite', 'bookworm');
  assert.is(m.family.vendor, 'debian');
  assert.is(m.suite, 'mysuite');
  assert.is(m.release?.codename, 'mysuite');
  assert.equal(m.release?.excludeDependencies, ['usrmerge']);
  assert.equal(m.release?.extraPackages, ['usr-is-merged']);
  // The real recipe is not modified.
  assert.is((await lookupSuite('bookworm')).release?.codename, 'bookworm');
});

test('RECIPE argument naming no known release is RecipeError unknown-recipe', async () => {
  await expectRecipeError(() => lookupSuite('mysuite', 'nothing-like-this'), 'unknown-recipe');
  // An alias is not a release.
  await expectRecipeError(() => lookupSuite('mysuite', 'stable'), 'unknown-recipe');
});

test('RECIPE argument as a file path: its matching release, else its last one', async () => {
  const file = join(tmp, 'custom.json');
  await writeFile(file, JSON.stringify(familyData('custom', ['one', 'two', 'three'], [])));
  const last = await lookupSuite('mysuite', file);
  assert.is(last.family.vendor, 'custom');
  assert.is(last.release?.codename, 'mysuite');
  assert.is(last.release?.version, '3');
  const named = await lookupSuite('two', undefined, tmp);
  assert.is(named.release?.version, '2');
});

test('RECIPE argument is ignored when the suite is known', async () => {
  const m = await lookupSuite('bookworm', 'trixie');
  assert.is(m.release?.codename, 'bookworm');
  assert.is(m.release?.version, '12');
});

test('RECIPE file that is missing or not JSON: recipe-missing, recipe-json', async () => {
  await expectRecipeError(() => lookupSuite('mysuite', join(tmp, 'absent.json')), 'recipe-missing');
  const broken = join(tmp, 'broken.json');
  await writeFile(broken, '{ not json');
  await expectRecipeError(() => lookupSuite('mysuite', broken), 'recipe-json');
});

// ---------------------------------------------------------------------------------------------------------
// Several families in a recipes directory

test('a suite known to two families is RecipeError ambiguous-suite', async () => {
  const dir = join(tmp, 'recipes');
  await writeFamilies(dir, { 'one.json': familyData('one', ['shared', 'only-one']), 'two.json': familyData('two', ['shared', 'only-two']) });
  const e = await expectRecipeError(() => lookupSuite('shared', undefined, dir), 'ambiguous-suite');
  assert.match(e.message, 'one.json');
  assert.match(e.message, 'two.json');
  assert.is((await lookupSuite('only-two', undefined, dir)).family.vendor, 'two');
  // An alias both families declare is ambiguous too.
  await expectRecipeError(() => lookupSuite('stable', undefined, dir), 'ambiguous-suite');
});

test('a RECIPE codename known to two families is RecipeError ambiguous-recipe', async () => {
  const dir = join(tmp, 'recipes');
  await writeFamilies(dir, { 'one.json': familyData('one', ['shared']), 'two.json': familyData('two', ['shared']) });
  await expectRecipeError(() => lookupSuite('mine', 'shared', dir), 'ambiguous-recipe');
});

test('loadFamilies reads only .json files, in name order', async () => {
  const dir = join(tmp, 'recipes');
  await writeFamilies(dir, { 'b.json': familyData('b', ['bb']), 'a.json': familyData('a', ['aa']) });
  await writeFile(join(dir, 'README.md'), 'not a recipe');
  assert.equal((await loadFamilies(dir)).map((f) => f.vendor), ['a', 'b']);
});

test('a broken family file in the directory fails the lookup', async () => {
  const dir = join(tmp, 'recipes');
  await writeFamilies(dir, { 'good.json': familyData('good', ['g']), 'bad.json': { ...familyData('bad', ['b']), format: 'rpm' } });
  await expectRecipeError(() => lookupSuite('g', undefined, dir), 'recipe-invalid');
});

// ---------------------------------------------------------------------------------------------------------
// validateFamily

test('validateFamily fills in the defaults', () => {
  const f = validateFamily('x.json', familyData());
  assert.is(f.file, 'x.json');
  assert.is(f.format, 'deb');
  assert.equal(f.variants.default, { selectors: [{ essential: true }, { priority: 'required' }, { package: 'apt' }], followDependencies: true, configure: true });
  assert.equal(f.variants.extract, { selectors: [], followDependencies: false, configure: false });
  assert.equal(f.configure, { preinstFirst: ['base-passwd'], coreFirst: [], shims: [], startStopDaemon: true, policyRcD: true });
  assert.equal(f.releases[0], { codename: 'alpha', version: '1', mergedUsr: false, extraPackages: [], excludeDependencies: [] });
  assert.equal(f.mergedUsr, { links: ['bin'], archLinks: { amd64: ['lib64'] } });
  assert.is(f.keyringPackage, undefined);
  assert.equal(validateFamily('x.json', { ...familyData(), suiteAliases: undefined }).suiteAliases, []);
});

test('validateFamily accepts $comment keys', () => {
  validateFamily('x.json', { ...familyData(), $comment: 'note' });
});

type Mutation = [string, (d: Record<string, any>) => void];
const BAD: Mutation[] = [
  ['unknown top-level key', (d) => { d.mirror = 'http://example.test/debian'; }],
  ['unknown variant key', (d) => { d.variants.default.include = ['x']; }],
  ['unknown configure key', (d) => { d.configure.postinstFirst = []; }],
  ['unknown release key', (d) => { d.releases[0].mirror = 'x'; }],
  ['missing vendor', (d) => { delete d.vendor; }],
  ['empty name', (d) => { d.name = ''; }],
  ['wrong format', (d) => { d.format = 'rpm'; }],
  ['missing components', (d) => { delete d.components; }],
  ['components not strings', (d) => { d.components = ['main', 3]; }],
  ['missing keyrings', (d) => { delete d.keyrings; }],
  ['missing hostSources', (d) => { delete d.hostSources; }],
  ['missing pathSuffixes', (d) => { d.hostSources = {}; }],
  ['missing variants', (d) => { delete d.variants; }],
  ['variants is a list', (d) => { d.variants = []; }],
  ['selectors not a list', (d) => { d.variants.default.selectors = { essential: true }; }],
  ['bad selector', (d) => { d.variants.default.selectors = [{ section: 'admin' }]; }],
  ['essential: false selector', (d) => { d.variants.default.selectors = [{ essential: false }]; }],
  ['selector not an object', (d) => { d.variants.default.selectors = ['apt']; }],
  ['followDependencies not a boolean', (d) => { d.variants.default.followDependencies = 'yes'; }],
  ['missing defaultVariant', (d) => { delete d.defaultVariant; }],
  ['defaultVariant not a variant', (d) => { d.defaultVariant = 'huge'; }],
  ['missing mergedUsr', (d) => { delete d.mergedUsr; }],
  ['mergedUsr.links missing', (d) => { d.mergedUsr = {}; }],
  ['archLinks not lists', (d) => { d.mergedUsr.archLinks = { amd64: 'lib64' }; }],
  ['missing configure', (d) => { delete d.configure; }],
  ['shim without target', (d) => { d.configure.shims = [{ path: '/usr/bin/awk', removeBefore: 'mawk' }]; }],
  ['startStopDaemon not a boolean', (d) => { d.configure.startStopDaemon = 1; }],
  ['no releases', (d) => { d.releases = []; }],
  ['releases not a list', (d) => { d.releases = { codename: 'x' }; }],
  ['release without codename', (d) => { d.releases = [{ version: '1' }]; }],
  ['release version not a string', (d) => { d.releases[0].version = 12; }],
  ['release mergedUsr not a boolean', (d) => { d.releases[0].mergedUsr = 'yes'; }],
  ['duplicate codenames', (d) => { d.releases = [{ codename: 'x' }, { codename: 'x' }]; }],
  ['keyringPackage empty', (d) => { d.keyringPackage = ''; }],
  ['not an object', () => undefined],
];
for (const [name, mutate] of BAD) {
  test(`validateFamily rejects: ${name}`, async () => {
    const data = structuredClone(familyData()) as Record<string, any>;
    mutate(data);
    const input = name === 'not an object' ? ['a', 'list'] : data;
    const e = await expectRecipeError(() => validateFamily('bad.json', input), 'recipe-invalid');
    assert.match(e.message, 'bad.json');
  });
}

// Regression: checkKeys used to guard only the top level, variants, configure and releases, not mergedUsr,
// hostSources, configure.shims[] or variants.*.selectors[]: a typo there was accepted silently and changed the result
// (`"archlinks"` drops amd64's lib64 -> usr/lib64 link; a selector {"essential": true, "priority": "required"}
// silently selects only the essential packages; a shim's misspelled key is lost).
test('validateFamily rejects unknown keys in nested objects too', async () => {
  const NESTED: Mutation[] = [
    ['mergedUsr.archlinks', (d) => { d.mergedUsr.archlinks = d.mergedUsr.archLinks; delete d.mergedUsr.archLinks; }],
    ['hostSources.pathSuffix', (d) => { d.hostSources.pathSuffix = ['/x']; }],
    ['configure.shims[0].extra', (d) => { d.configure.shims = [{ path: '/usr/bin/awk', target: 'mawk', removeBefore: 'mawk', when: 'always' }]; }],
    ['a selector with two kinds', (d) => { d.variants.default.selectors = [{ essential: true, priority: 'required' }]; }],
  ];
  const accepted: string[] = [];
  for (const [name, mutate] of NESTED) {
    const data = structuredClone(familyData()) as Record<string, any>;
    mutate(data);
    try {
      validateFamily('bad.json', data);
      accepted.push(name);
    } catch (error) {
      assert.instance(error, RecipeError);
    }
  }
  assert.equal(accepted, [], `accepted silently: ${accepted.join(', ')}`);
});

test('validateFamily rejects null and non-objects', async () => {
  for (const v of [null, 'string', 3, undefined]) await expectRecipeError(() => validateFamily('x.json', v), 'recipe-invalid');
});

test.run();
