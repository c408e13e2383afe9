import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UsageError } from '../../src/errors.js';
import {
  type AptSource,
  configFilePath,
  normalizeMirror,
  parseDeb822Sources,
  parseOneLineSources,
  pickHostMirror,
  readHostAptSources,
  resolveMirror,
} from '../../src/recipe/mirror.js';
import type { RecipeFamily } from '../../src/recipe/recipe.js';

// Only the fields mirror.ts reads matter; the rest is filler of the right shape.
const FAMILY = {
  file: 'test.json',
  vendor: 'debian',
  name: 'Test Debian',
  format: 'deb',
  suiteAliases: [],
  components: ['main'],
  keyrings: [],
  hostSources: { pathSuffixes: ['/debian'] },
  defaultVariant: 'default',
  variants: {},
  mergedUsr: { links: [], archLinks: {} },
  configure: { preinstFirst: [], coreFirst: [], shims: [], startStopDaemon: true, policyRcD: true },
  releases: [{ codename: 'bookworm', mergedUsr: true, extraPackages: [], excludeDependencies: [] }],
} satisfies RecipeFamily;

let tmp = '';
test.before.each(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'rootstrap-mirror-'));
});
test.after.each(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
  tmp = '';
});

async function expectUsageError(fn: () => Promise<unknown> | unknown, code: string): Promise<UsageError> {
  try {
    await fn();
  } catch (error) {
    assert.instance(error, UsageError);
    assert.is((error as UsageError).code, code, (error as Error).message);
    return error as UsageError;
  }
  assert.unreachable(`expected UsageError ${code}`);
  throw new Error('unreachable');
}

// ---------------------------------------------------------------------------------------------------------
// One-line sources

test('parseOneLineSources: deb and deb-src lines, options, comments, blank lines', () => {
  const text = [
    '# a comment',
    '',
    'deb http://example.test/debian bookworm main contrib',
    'deb [arch=amd64 signed-by=/usr/share/keyrings/x.gpg] http://127.0.0.1:8080/debian bookworm-updates main # trailing comment',
    'deb-src http://example.test/debian bookworm main',
    '   deb   http://example.test/debian-security   bookworm-security   main   ',
    '#deb http://example.test/disabled sid main',
    'rpm http://example.test/fedora 39 main',
    'deb http://example.test/flat ./',
    'garbage',
  ].join('\n');
  assert.equal(parseOneLineSources(text, 'sources.list'), [
    { types: ['deb'], uris: ['http://example.test/debian'], suites: ['bookworm'], components: ['main', 'contrib'], file: 'sources.list' },
    { types: ['deb'], uris: ['http://127.0.0.1:8080/debian'], suites: ['bookworm-updates'], components: ['main'], file: 'sources.list' },
    { types: ['deb-src'], uris: ['http://example.test/debian'], suites: ['bookworm'], components: ['main'], file: 'sources.list' },
    { types: ['deb'], uris: ['http://example.test/debian-security'], suites: ['bookworm-security'], components: ['main'], file: 'sources.list' },
    { types: ['deb'], uris: ['http://example.test/flat'], suites: ['./'], components: [], file: 'sources.list' },
  ]);
});

test('parseOneLineSources: empty text', () => {
  assert.equal(parseOneLineSources('', 'x'), []);
  assert.equal(parseOneLineSources('# only\n#comments\n', 'x'), []);
});

// ---------------------------------------------------------------------------------------------------------
// deb822 sources

test('parseDeb822Sources: several stanzas, Enabled: no, multi-value and continued fields', () => {
  const text = `# comment before
Types: deb deb-src
URIs: http://example.test/debian http://127.0.0.1/debian
Suites: bookworm bookworm-updates
Components: main contrib
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://example.test/debian-security
Suites: bookworm-security
Components: main
Enabled: no

# a commented stanza field
types: deb
uris: http://example.test/other
suites: sid
components: main
  non-free
`;
  assert.equal(parseDeb822Sources(text, 'debian.sources'), [
    { types: ['deb', 'deb-src'], uris: ['http://example.test/debian', 'http://127.0.0.1/debian'], suites: ['bookworm', 'bookworm-updates'], components: ['main', 'contrib'], file: 'debian.sources' },
    { types: ['deb'], uris: ['http://example.test/other'], suites: ['sid'], components: ['main', 'non-free'], file: 'debian.sources' },
  ]);
});

test('parseDeb822Sources: Enabled: No (any case) disables, Enabled: yes does not', () => {
  const stanza = (enabled: string) => `Types: deb\nURIs: http://example.test/debian\nSuites: sid\nComponents: main\nEnabled: ${enabled}\n`;
  assert.is(parseDeb822Sources(stanza('No'), 'f').length, 0);
  assert.is(parseDeb822Sources(stanza('yes'), 'f').length, 1);
});

test('parseDeb822Sources: stanzas without URIs are skipped; blank lines with spaces separate stanzas', () => {
  const text = 'Types: deb\nSuites: sid\n\nTypes: deb\nURIs: http://example.test/debian\nSuites: sid\n  \t\nTypes: deb\nURIs: http://example.test/x/debian\n';
  assert.equal(parseDeb822Sources(text, 'f').map((s) => s.uris), [['http://example.test/debian'], ['http://example.test/x/debian']]);
  assert.equal(parseDeb822Sources('', 'f'), []);
});

// ---------------------------------------------------------------------------------------------------------
// pickHostMirror

const src = (uris: string[], types = ['deb']): AptSource => ({ types, uris, suites: ['bookworm'], components: ['main'], file: 'f.sources' });

test('pickHostMirror: a URI whose path ends with /debian matches; /debian-security does not', () => {
  assert.equal(pickHostMirror([src(['http://example.test/debian-security']), src(['http://example.test/debian/'])], FAMILY), {
    url: 'http://example.test/debian',
    source: 'host-apt-sources',
    file: 'f.sources',
  });
  assert.is(pickHostMirror([src(['http://example.test/debian-security'])], FAMILY), undefined);
  assert.is(pickHostMirror([src(['http://example.test/debian-debug']), src(['http://example.test/mydebian'])], FAMILY), undefined);
});

test('pickHostMirror: deb-src only, non-http URIs and unparsable URIs are skipped', () => {
  assert.is(pickHostMirror([src(['http://example.test/debian'], ['deb-src'])], FAMILY), undefined);
  assert.is(pickHostMirror([src(['file:///srv/debian', 'cdrom:[Debian]/debian', 'ftp://example.test/debian', 'not a url/debian'])], FAMILY), undefined);
  assert.equal(pickHostMirror([src(['file:///srv/debian', 'https://127.0.0.1:8443/pub/debian'])], FAMILY)?.url, 'https://127.0.0.1:8443/pub/debian');
});

test('pickHostMirror: the first matching source wins', () => {
  const got = pickHostMirror([src(['http://example.test/ubuntu']), src(['http://first.example.test/debian', 'http://second.example.test/debian'])], FAMILY);
  assert.is(got?.url, 'http://first.example.test/debian');
  assert.is(pickHostMirror([], FAMILY), undefined);
});

// ---------------------------------------------------------------------------------------------------------
// normalizeMirror

test('normalizeMirror keeps http(s) URLs and drops trailing slashes', () => {
  assert.is(normalizeMirror('http://example.test/debian/', 's'), 'http://example.test/debian');
  assert.is(normalizeMirror('https://127.0.0.1:8443/debian///', 's'), 'https://127.0.0.1:8443/debian');
  assert.is(normalizeMirror('http://example.test/debian', 's'), 'http://example.test/debian');
});

for (const bad of ['ftp://example.test/debian', 'file:///srv/debian', 'rsync://example.test/debian']) {
  test(`normalizeMirror refuses ${bad}`, async () => {
    const e = await expectUsageError(() => normalizeMirror(bad, 'the command line'), 'bad-mirror');
    assert.match(e.message, 'the command line');
  });
}

for (const bad of ['example.test/debian', '', 'not a url', '/srv/debian']) {
  test(`normalizeMirror refuses the non-URL ${JSON.stringify(bad)}`, async () => {
    const e = await expectUsageError(() => normalizeMirror(bad, 's'), 'bad-mirror');
    assert.match(e.message, 'not a URL');
  });
}

// ---------------------------------------------------------------------------------------------------------
// configFilePath and resolveMirror

test('configFilePath: XDG_CONFIG_HOME when absolute, else HOME/.config', () => {
  assert.is(configFilePath({ XDG_CONFIG_HOME: '/x/cfg', HOME: '/home/u' }), '/x/cfg/rootstrap/config.json');
  assert.is(configFilePath({ XDG_CONFIG_HOME: 'relative', HOME: '/home/u' }), '/home/u/.config/rootstrap/config.json');
  assert.is(configFilePath({ HOME: '/home/u' }), '/home/u/.config/rootstrap/config.json');
});

async function setup(): Promise<{ configFile: string; aptDir: string; emptyApt: string }> {
  const configFile = join(tmp, 'config.json');
  await writeFile(configFile, JSON.stringify({ mirrors: { debian: 'http://example.test/config/debian/' } }));
  const aptDir = join(tmp, 'apt');
  await mkdir(join(aptDir, 'sources.list.d'), { recursive: true });
  await writeFile(join(aptDir, 'sources.list.d', 'x.sources'), 'Types: deb\nURIs: http://127.0.0.1/host/debian\nSuites: bookworm\nComponents: main\n');
  const emptyApt = join(tmp, 'empty-apt');
  await mkdir(emptyApt);
  return { configFile, aptDir, emptyApt };
}

test('resolveMirror: the argument comes first', async () => {
  const { configFile, aptDir } = await setup();
  const got = await resolveMirror(FAMILY, { argument: 'http://example.test/arg/debian/', env: { ROOTSTRAP_MIRROR: 'http://example.test/env/debian' }, configFile, aptDir });
  assert.equal(got, { url: 'http://example.test/arg/debian', source: 'argument' });
});

test('resolveMirror: then ROOTSTRAP_MIRROR', async () => {
  const { configFile, aptDir } = await setup();
  const got = await resolveMirror(FAMILY, { env: { ROOTSTRAP_MIRROR: 'http://example.test/env/debian' }, configFile, aptDir });
  assert.equal(got, { url: 'http://example.test/env/debian', source: 'environment' });
});

test('resolveMirror: then the config file', async () => {
  const { configFile, aptDir } = await setup();
  const got = await resolveMirror(FAMILY, { env: {}, configFile, aptDir });
  assert.equal(got, { url: 'http://example.test/config/debian', source: 'config', file: configFile });
});

test('resolveMirror: the config file found through XDG_CONFIG_HOME', async () => {
  const { aptDir } = await setup();
  await mkdir(join(tmp, 'xdg', 'rootstrap'), { recursive: true });
  await writeFile(join(tmp, 'xdg', 'rootstrap', 'config.json'), JSON.stringify({ mirrors: { debian: 'http://example.test/xdg/debian' } }));
  const got = await resolveMirror(FAMILY, { env: { XDG_CONFIG_HOME: join(tmp, 'xdg') }, aptDir });
  assert.is(got.url, 'http://example.test/xdg/debian');
  assert.is(got.source, 'config');
});

test('resolveMirror: then the host apt sources (deb822 .sources)', async () => {
  const { aptDir } = await setup();
  const got = await resolveMirror(FAMILY, { env: {}, configFile: join(tmp, 'no-config.json'), aptDir });
  assert.equal(got, { url: 'http://127.0.0.1/host/debian', source: 'host-apt-sources', file: join(aptDir, 'sources.list.d', 'x.sources') });
});

test('resolveMirror: a config file without this vendor falls through to the host sources', async () => {
  const { aptDir } = await setup();
  const configFile = join(tmp, 'other.json');
  await writeFile(configFile, JSON.stringify({ mirrors: { ubuntu: 'http://example.test/ubuntu' } }));
  assert.is((await resolveMirror(FAMILY, { env: {}, configFile, aptDir })).source, 'host-apt-sources');
});

test('resolveMirror: the host sources.list (one-line) is read too', async () => {
  const aptDir = join(tmp, 'apt1');
  await mkdir(aptDir);
  await writeFile(join(aptDir, 'sources.list'), 'deb http://example.test/debian-security bookworm-security main\ndeb [trusted=yes] http://example.test/debian bookworm main\n');
  const got = await resolveMirror(FAMILY, { env: {}, configFile: join(tmp, 'none.json'), aptDir });
  assert.equal(got, { url: 'http://example.test/debian', source: 'host-apt-sources', file: join(aptDir, 'sources.list') });
});

test('readHostAptSources: sources.list then sources.list.d in name order, .list and .sources only', async () => {
  const aptDir = join(tmp, 'apt2');
  await mkdir(join(aptDir, 'sources.list.d'), { recursive: true });
  await writeFile(join(aptDir, 'sources.list'), 'deb http://example.test/a sid main\n');
  await writeFile(join(aptDir, 'sources.list.d', 'b.list'), 'deb http://example.test/b sid main\n');
  await writeFile(join(aptDir, 'sources.list.d', 'a.sources'), 'Types: deb\nURIs: http://example.test/c\nSuites: sid\n');
  await writeFile(join(aptDir, 'sources.list.d', 'z.list.disabled'), 'deb http://example.test/d sid main\n');
  const got = await readHostAptSources(aptDir);
  assert.equal(got.map((s) => s.uris[0]), ['http://example.test/a', 'http://example.test/c', 'http://example.test/b']);
  assert.equal(await readHostAptSources(join(tmp, 'does-not-exist')), []);
});

test('resolveMirror: nothing anywhere is UsageError no-mirror', async () => {
  const { emptyApt } = await setup();
  const e = await expectUsageError(() => resolveMirror(FAMILY, { env: {}, configFile: join(tmp, 'none.json'), aptDir: emptyApt }), 'no-mirror');
  assert.match(e.message, 'Test Debian');
  assert.match(e.message, 'mirrors.debian');
  assert.ok(e.hint?.includes('ROOTSTRAP_MIRROR'));
});

test('resolveMirror: only a non-matching host source is still no-mirror', async () => {
  const aptDir = join(tmp, 'apt3');
  await mkdir(aptDir);
  await writeFile(join(aptDir, 'sources.list'), 'deb http://example.test/debian-security bookworm-security main\n');
  await expectUsageError(() => resolveMirror(FAMILY, { env: {}, configFile: join(tmp, 'none.json'), aptDir }), 'no-mirror');
});

test('resolveMirror: a bad URL from any source is UsageError bad-mirror', async () => {
  const { configFile, aptDir } = await setup();
  await expectUsageError(() => resolveMirror(FAMILY, { argument: 'ftp://example.test/debian', env: {}, configFile, aptDir }), 'bad-mirror');
  await expectUsageError(() => resolveMirror(FAMILY, { env: { ROOTSTRAP_MIRROR: 'nonsense' }, configFile, aptDir }), 'bad-mirror');
  const bad = join(tmp, 'bad-url.json');
  await writeFile(bad, JSON.stringify({ mirrors: { debian: 'ftp://example.test/debian' } }));
  await expectUsageError(() => resolveMirror(FAMILY, { env: {}, configFile: bad, aptDir }), 'bad-mirror');
});

test('resolveMirror: a config file that is not JSON is UsageError bad-config', async () => {
  const { aptDir } = await setup();
  const configFile = join(tmp, 'broken.json');
  await writeFile(configFile, '{ "mirrors": ');
  const e = await expectUsageError(() => resolveMirror(FAMILY, { env: {}, configFile, aptDir }), 'bad-config');
  assert.match(e.message, configFile);
});

test('resolveMirror: an empty ROOTSTRAP_MIRROR or argument is ignored', async () => {
  const { configFile, aptDir } = await setup();
  const got = await resolveMirror(FAMILY, { argument: '', env: { ROOTSTRAP_MIRROR: '' }, configFile, aptDir });
  assert.is(got.source, 'config');
});

test.run();
