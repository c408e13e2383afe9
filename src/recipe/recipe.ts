/**
 * Recipes: data files in recipes/, one family file per distribution, validated into typed values here.
 * The format is documented in README.md ("Recipes").
 */
import { readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { RecipeError } from '../errors.js';

export type VariantSelector = { essential: true } | { priority: string } | { package: string };

export interface Variant {
  selectors: VariantSelector[];
  followDependencies: boolean;
  configure: boolean;
}

export interface Shim {
  path: string;
  target: string;
  removeBefore: string;
}

export interface ConfigureRecipe {
  preinstFirst: string[];
  coreFirst: string[];
  shims: Shim[];
  startStopDaemon: boolean;
  policyRcD: boolean;
}

export interface ReleaseRecipe {
  codename: string;
  version?: string;
  mergedUsr: boolean;
  extraPackages: string[];
  excludeDependencies: string[];
}

export interface RecipeFamily {
  file: string;
  vendor: string;
  name: string;
  format: 'deb';
  suiteAliases: string[];
  components: string[];
  keyrings: string[];
  keyringPackage?: string;
  hostSources: { pathSuffixes: string[] };
  defaultVariant: string;
  variants: Record<string, Variant>;
  mergedUsr: { links: string[]; archLinks: Record<string, string[]> };
  configure: ConfigureRecipe;
  releases: ReleaseRecipe[];
}

/** What a suite name resolved to, before the Release file is read. */
export interface SuiteMatch {
  family: RecipeFamily;
  /** Known when the suite is a codename (or RECIPE named one); for an alias it comes from the Release file. */
  release?: ReleaseRecipe;
  suite: string;
}

export const RECIPES_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../recipes');

function fail(file: string, path: string, expected: string, got: unknown): never {
  throw new RecipeError('recipe-invalid', `recipe ${file}: ${path} must be ${expected}, got ${JSON.stringify(got)}`, {
    hint: 'fix the recipe file (format: README.md, "Recipes")',
  });
}

function str(file: string, path: string, v: unknown): string {
  if (typeof v !== 'string' || v === '') fail(file, path, 'a non-empty string', v);
  return v;
}

function strings(file: string, path: string, v: unknown, fallback?: string[]): string[] {
  if (v === undefined && fallback) return fallback;
  if (!Array.isArray(v) || !v.every((x) => typeof x === 'string' && x !== '')) fail(file, path, 'a list of strings', v);
  return v as string[];
}

function bool(file: string, path: string, v: unknown, fallback: boolean): boolean {
  if (v === undefined) return fallback;
  if (typeof v !== 'boolean') fail(file, path, 'true or false', v);
  return v;
}

function obj(file: string, path: string, v: unknown): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) fail(file, path, 'an object', v);
  return v as Record<string, unknown>;
}

function checkKeys(file: string, path: string, o: Record<string, unknown>, allowed: string[]): void {
  for (const key of Object.keys(o)) {
    if (!allowed.includes(key) && key !== '$comment') fail(file, `${path}.${key}`, `one of ${allowed.join(', ')} (unknown key)`, key);
  }
}

/** Validate one family file's JSON. Exported for the recipe tests. */
export function validateFamily(file: string, data: unknown): RecipeFamily {
  const o = obj(file, '(top)', data);
  checkKeys(file, '(top)', o, ['vendor', 'name', 'format', 'suiteAliases', 'components', 'keyrings', 'keyringPackage', 'hostSources', 'defaultVariant', 'variants', 'mergedUsr', 'configure', 'releases']);
  if (o.format !== 'deb') fail(file, 'format', '"deb"', o.format);
  const variants: Record<string, Variant> = {};
  for (const [name, raw] of Object.entries(obj(file, 'variants', o.variants))) {
    const v = obj(file, `variants.${name}`, raw);
    checkKeys(file, `variants.${name}`, v, ['selectors', 'followDependencies', 'configure']);
    if (!Array.isArray(v.selectors)) fail(file, `variants.${name}.selectors`, 'a list', v.selectors);
    const selectors = (v.selectors as unknown[]).map((s, i): VariantSelector => {
      const so = obj(file, `variants.${name}.selectors[${i}]`, s);
      if (Object.keys(so).length !== 1) fail(file, `variants.${name}.selectors[${i}]`, 'exactly one of {"essential": true}, {"priority": P}, {"package": N}', s);
      if (so.essential === true) return { essential: true };
      if (typeof so.priority === 'string') return { priority: so.priority };
      if (typeof so.package === 'string') return { package: so.package };
      return fail(file, `variants.${name}.selectors[${i}]`, '{"essential": true}, {"priority": P} or {"package": N}', s);
    });
    variants[name] = { selectors, followDependencies: bool(file, `variants.${name}.followDependencies`, v.followDependencies, true), configure: bool(file, `variants.${name}.configure`, v.configure, true) };
  }
  const defaultVariant = str(file, 'defaultVariant', o.defaultVariant);
  if (!variants[defaultVariant]) fail(file, 'defaultVariant', `one of ${Object.keys(variants).join(', ')}`, defaultVariant);
  const mu = obj(file, 'mergedUsr', o.mergedUsr);
  checkKeys(file, 'mergedUsr', mu, ['links', 'archLinks']);
  checkKeys(file, 'hostSources', obj(file, 'hostSources', o.hostSources), ['pathSuffixes']);
  const archLinks: Record<string, string[]> = {};
  for (const [arch, links] of Object.entries(obj(file, 'mergedUsr.archLinks', mu.archLinks ?? {}))) archLinks[arch] = strings(file, `mergedUsr.archLinks.${arch}`, links);
  const c = obj(file, 'configure', o.configure);
  checkKeys(file, 'configure', c, ['preinstFirst', 'coreFirst', 'shims', 'startStopDaemon', 'policyRcD']);
  const shims = ((c.shims ?? []) as unknown[]).map((s, i): Shim => {
    const so = obj(file, `configure.shims[${i}]`, s);
    checkKeys(file, `configure.shims[${i}]`, so, ['path', 'target', 'removeBefore']);
    return { path: str(file, `configure.shims[${i}].path`, so.path), target: str(file, `configure.shims[${i}].target`, so.target), removeBefore: str(file, `configure.shims[${i}].removeBefore`, so.removeBefore) };
  });
  if (!Array.isArray(o.releases) || o.releases.length === 0) fail(file, 'releases', 'a non-empty list', o.releases);
  const releases = (o.releases as unknown[]).map((r, i): ReleaseRecipe => {
    const ro = obj(file, `releases[${i}]`, r);
    checkKeys(file, `releases[${i}]`, ro, ['codename', 'version', 'mergedUsr', 'extraPackages', 'excludeDependencies']);
    const release: ReleaseRecipe = {
      codename: str(file, `releases[${i}].codename`, ro.codename),
      mergedUsr: bool(file, `releases[${i}].mergedUsr`, ro.mergedUsr, false),
      extraPackages: strings(file, `releases[${i}].extraPackages`, ro.extraPackages, []),
      excludeDependencies: strings(file, `releases[${i}].excludeDependencies`, ro.excludeDependencies, []),
    };
    if (ro.version !== undefined) release.version = str(file, `releases[${i}].version`, ro.version);
    return release;
  });
  const seen = new Set<string>();
  for (const r of releases) {
    if (seen.has(r.codename)) fail(file, 'releases', 'unique codenames', r.codename);
    seen.add(r.codename);
  }
  const family: RecipeFamily = {
    file,
    vendor: str(file, 'vendor', o.vendor),
    name: str(file, 'name', o.name),
    format: 'deb',
    suiteAliases: strings(file, 'suiteAliases', o.suiteAliases, []),
    components: strings(file, 'components', o.components),
    keyrings: strings(file, 'keyrings', o.keyrings),
    hostSources: { pathSuffixes: strings(file, 'hostSources.pathSuffixes', obj(file, 'hostSources', o.hostSources).pathSuffixes) },
    defaultVariant,
    variants,
    mergedUsr: { links: strings(file, 'mergedUsr.links', mu.links), archLinks },
    configure: {
      preinstFirst: strings(file, 'configure.preinstFirst', c.preinstFirst, []),
      coreFirst: strings(file, 'configure.coreFirst', c.coreFirst, []),
      shims,
      startStopDaemon: bool(file, 'configure.startStopDaemon', c.startStopDaemon, true),
      policyRcD: bool(file, 'configure.policyRcD', c.policyRcD, true),
    },
    releases,
  };
  if (o.keyringPackage !== undefined) family.keyringPackage = str(file, 'keyringPackage', o.keyringPackage);
  return family;
}

async function loadFamilyFile(path: string): Promise<RecipeFamily> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new RecipeError('recipe-missing', `cannot read recipe file ${path}: ${(error as Error).message}`, { cause: error, hint: 'check the path of the RECIPE argument' });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new RecipeError('recipe-json', `recipe ${path} is not valid JSON: ${(error as Error).message}`, { cause: error, hint: 'fix the JSON syntax' });
  }
  return validateFamily(basename(path), data);
}

export async function loadFamilies(dir = RECIPES_DIR): Promise<RecipeFamily[]> {
  const names = (await readdir(dir)).filter((n) => n.endsWith('.json')).sort();
  return Promise.all(names.map((n) => loadFamilyFile(join(dir, n))));
}

/** Every (family, release) whose codename or alias is `suite`. */
function matches(families: readonly RecipeFamily[], suite: string): SuiteMatch[] {
  const out: SuiteMatch[] = [];
  for (const family of families) {
    const release = family.releases.find((r) => r.codename === suite);
    if (release) out.push({ family, release, suite });
    else if (family.suiteAliases.includes(suite)) out.push({ family, suite });
  }
  return out;
}

/**
 * Find the recipe for SUITE across every distribution's recipes. `recipeArg` (debootstrap's SCRIPT argument)
 * names a known codename or a recipe file to use for a suite that has none of its own.
 */
export async function lookupSuite(suite: string, recipeArg?: string, dir = RECIPES_DIR): Promise<SuiteMatch> {
  if (!/^[a-z0-9][a-z0-9.+~-]*$/i.test(suite)) {
    throw new RecipeError('bad-suite', `suite ${JSON.stringify(suite)} is not a valid suite name`, { hint: 'use a codename such as bookworm, or an alias such as stable' });
  }
  const families = await loadFamilies(dir);
  const direct = matches(families, suite);
  if (recipeArg !== undefined && direct.length === 0) {
    if (recipeArg.includes('/') || recipeArg.endsWith('.json')) {
      const family = await loadFamilyFile(resolve(recipeArg));
      const release = family.releases.find((r) => r.codename === suite) ?? family.releases[family.releases.length - 1]!;
      return { family, release: { ...release, codename: suite }, suite };
    }
    const via = matches(families, recipeArg).filter((m) => m.release);
    if (via.length === 1) return { family: via[0]!.family, release: { ...via[0]!.release!, codename: suite }, suite };
    if (via.length === 0) throw new RecipeError('unknown-recipe', `RECIPE ${JSON.stringify(recipeArg)} names no known release`, { hint: 'run `rootstrap list` for the known releases, or pass a recipe file path' });
    throw new RecipeError('ambiguous-recipe', `RECIPE ${JSON.stringify(recipeArg)} is a release of several distributions: ${via.map((m) => m.family.vendor).join(', ')}`, { hint: 'pass the recipe file path instead' });
  }
  if (direct.length === 1) return direct[0]!;
  if (direct.length > 1) {
    throw new RecipeError('ambiguous-suite', `suite ${JSON.stringify(suite)} is known to several distributions: ${direct.map((m) => `${m.family.vendor} (${m.family.file})`).join(', ')}`, {
      hint: 'pass the recipe file as the RECIPE argument to choose one',
    });
  }
  const known = families.flatMap((f) => f.releases.map((r) => r.codename));
  throw new RecipeError('unknown-suite', `no recipe for suite ${JSON.stringify(suite)}; known: ${known.join(', ')}`, {
    hint: 'run `rootstrap list`, or name a recipe to use as the RECIPE argument (e.g. `rootstrap SUITE TARGET MIRROR bookworm`)',
  });
}

/** An alias (stable, testing...) becomes a release once the Release file's Codename is known. */
export function releaseForCodename(match: SuiteMatch, codename: string | undefined, source: string): ReleaseRecipe {
  if (match.release) {
    if (codename !== undefined && codename !== match.release.codename && match.suite === match.release.codename) {
      throw new RecipeError('codename-mismatch', `${source} says Codename ${codename}, but suite ${match.suite} was asked for`, {
        hint: 'the mirror serves another release under this name; check the mirror URL',
      });
    }
    return match.release;
  }
  const release = codename === undefined ? undefined : match.family.releases.find((r) => r.codename === codename);
  if (!release) {
    throw new RecipeError('unknown-codename', `${source}: suite ${match.suite} is Codename ${codename ?? '(none)'}, which has no ${match.family.vendor} recipe`, {
      hint: `pass a recipe to use as the RECIPE argument, e.g. \`rootstrap ${match.suite} TARGET MIRROR ${match.family.releases[match.family.releases.length - 1]!.codename}\``,
    });
  }
  return release;
}
