/**
 * Where the archive is. No recipe names a Debian mirror host; the mirror is, in this order:
 * the MIRROR argument or --mirror; ROOTSTRAP_MIRROR; the user config file; the host's apt sources (deb822
 * .sources and one-line .list files) for a source that serves this vendor; otherwise an error that says how
 * to pass one.
 */
import { readdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from '../errors.js';
import type { RecipeFamily } from './recipe.js';

export type MirrorSource = 'argument' | 'environment' | 'config' | 'host-apt-sources';

export interface MirrorChoice {
  url: string;
  source: MirrorSource;
  /** For host sources and the config: which file. */
  file?: string;
}

export interface MirrorLookupOptions {
  argument?: string;
  env?: NodeJS.ProcessEnv;
  configFile?: string;
  aptDir?: string;
}

export interface AptSource {
  types: string[];
  uris: string[];
  suites: string[];
  components: string[];
  file: string;
}

export function configFilePath(env: NodeJS.ProcessEnv = process.env): string {
  const base = env.XDG_CONFIG_HOME && env.XDG_CONFIG_HOME.startsWith('/') ? env.XDG_CONFIG_HOME : join(env.HOME ?? homedir(), '.config');
  return join(base, 'rootstrap', 'config.json');
}

/** A mirror URL must be http(s) or file, and is used without a trailing slash. */
export function normalizeMirror(url: string, source: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError('bad-mirror', `mirror ${JSON.stringify(url)} from ${source} is not a URL`, { hint: 'pass a URL like http://HOST/debian' });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new UsageError('bad-mirror', `mirror ${JSON.stringify(url)} from ${source} uses ${parsed.protocol}, expected http: or https:`, { hint: 'pass an http:// or https:// mirror URL' });
  }
  return url.replace(/\/+$/, '');
}

/** Parse one-line `deb [opts] URI SUITE COMP...` sources (sources.list(5)). */
export function parseOneLineSources(text: string, file: string): AptSource[] {
  const out: AptSource[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (line === '') continue;
    const m = /^(deb|deb-src)\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)\s*(.*)$/.exec(line);
    if (!m) continue;
    out.push({ types: [m[1]!], uris: [m[2]!], suites: [m[3]!], components: m[4]!.split(/\s+/).filter(Boolean), file });
  }
  return out;
}

/** Parse deb822 `.sources` files (sources.list(5), DEB822-STYLE FORMAT). */
export function parseDeb822Sources(text: string, file: string): AptSource[] {
  const out: AptSource[] = [];
  for (const block of text.split(/\n\s*\n/)) {
    const fields = new Map<string, string>();
    let last: string | undefined;
    for (const raw of block.split('\n')) {
      if (raw.startsWith('#') || raw.trim() === '') continue;
      if (/^\s/.test(raw) && last) {
        fields.set(last, `${fields.get(last)} ${raw.trim()}`);
        continue;
      }
      const idx = raw.indexOf(':');
      if (idx <= 0) continue;
      last = raw.slice(0, idx).trim().toLowerCase();
      fields.set(last, raw.slice(idx + 1).trim());
    }
    if (fields.get('enabled')?.toLowerCase() === 'no') continue;
    const words = (k: string): string[] => (fields.get(k) ?? '').split(/\s+/).filter(Boolean);
    if (words('uris').length === 0) continue;
    out.push({ types: words('types'), uris: words('uris'), suites: words('suites'), components: words('components'), file });
  }
  return out;
}

export async function readHostAptSources(aptDir = '/etc/apt'): Promise<AptSource[]> {
  const out: AptSource[] = [];
  const read = async (path: string): Promise<string | undefined> => readFile(path, 'utf8').catch(() => undefined);
  const main = await read(join(aptDir, 'sources.list'));
  if (main !== undefined) out.push(...parseOneLineSources(main, join(aptDir, 'sources.list')));
  const dir = join(aptDir, 'sources.list.d');
  const names = (await readdir(dir).catch(() => [] as string[])).sort();
  for (const name of names) {
    const path = join(dir, name);
    if (name.endsWith('.list')) out.push(...parseOneLineSources((await read(path)) ?? '', path));
    else if (name.endsWith('.sources')) out.push(...parseDeb822Sources((await read(path)) ?? '', path));
  }
  return out;
}

/** A host source serves this vendor when its URI path ends with one of the recipe's path suffixes. */
export function pickHostMirror(sources: readonly AptSource[], family: RecipeFamily): MirrorChoice | undefined {
  for (const s of sources) {
    if (!s.types.includes('deb')) continue;
    for (const uri of s.uris) {
      let path: string;
      try {
        const u = new URL(uri);
        if (u.protocol !== 'http:' && u.protocol !== 'https:') continue;
        path = u.pathname.replace(/\/+$/, '');
      } catch {
        continue;
      }
      if (family.hostSources.pathSuffixes.some((suffix) => path.endsWith(suffix))) {
        return { url: uri.replace(/\/+$/, ''), source: 'host-apt-sources', file: s.file };
      }
    }
  }
  return undefined;
}

export async function resolveMirror(family: RecipeFamily, options: MirrorLookupOptions = {}): Promise<MirrorChoice> {
  if (options.argument) return { url: normalizeMirror(options.argument, 'the command line'), source: 'argument' };
  const env = options.env ?? process.env;
  if (env.ROOTSTRAP_MIRROR) return { url: normalizeMirror(env.ROOTSTRAP_MIRROR, 'ROOTSTRAP_MIRROR'), source: 'environment' };
  const configFile = options.configFile ?? configFilePath(env);
  const configText = await readFile(configFile, 'utf8').catch(() => undefined);
  if (configText !== undefined) {
    let config: unknown;
    try {
      config = JSON.parse(configText);
    } catch (error) {
      throw new UsageError('bad-config', `config file ${configFile} is not valid JSON: ${(error as Error).message}`, { hint: 'fix it, or remove it' });
    }
    const mirrors = (config as { mirrors?: Record<string, unknown> }).mirrors;
    const url = mirrors?.[family.vendor];
    if (typeof url === 'string') return { url: normalizeMirror(url, configFile), source: 'config', file: configFile };
  }
  const host = pickHostMirror(await readHostAptSources(options.aptDir), family);
  if (host) return host;
  throw new UsageError('no-mirror', `no mirror known for ${family.name}: none given, no ROOTSTRAP_MIRROR, no mirrors.${family.vendor} in ${configFile}, and no matching source in the host's apt sources`, {
    hint: `pass one as the MIRROR argument or --mirror URL, or set ROOTSTRAP_MIRROR`,
  });
}
