import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { buildConfigureScript, CONFIGURE_ENV, type ConfigurePackage, shQuote } from '../../src/formats/deb/configure-script.js';
import type { ConfigureRecipe } from '../../src/recipe/recipe.js';

const RECIPE: ConfigureRecipe = {
  preinstFirst: ['base-passwd'],
  coreFirst: ['base-passwd', 'base-files', 'dpkg', 'libc6', 'perl-base'],
  shims: [{ path: '/usr/bin/awk', target: 'mawk', removeBefore: 'mawk' }],
  startStopDaemon: true,
  policyRcD: true,
};

const p = (name: string, hasPreinst: boolean, over: Partial<ConfigurePackage> = {}): ConfigurePackage => ({
  name,
  infoPrefix: name,
  arch: 'amd64',
  version: '1.0',
  hasPreinst,
  ...over,
});

const PACKAGES: ConfigurePackage[] = [
  p('base-files', true),
  p('dpkg', true, { version: '1.21.22' }),
  p('libc6', true, { infoPrefix: 'libc6:amd64' }),
  p('mawk', false),
  p('bash', true),
  p('base-passwd', true),
  p('coreutils', false),
];

/** `sh -n` parses without running: a syntax error fails with status 2. */
function shSyntaxOk(script: string): { ok: boolean; stderr: string } {
  const r = spawnSync('sh', ['-n', '-c', script], { encoding: 'utf8' });
  return { ok: r.status === 0, stderr: r.stderr };
}

const lines = (script: string): string[] => script.split('\n');
const indexOfLine = (script: string, needle: string): number => lines(script).findIndex((l) => l.includes(needle));

// ---------------------------------------------------------------------------------------------------------
// shQuote

const QUOTE_CASES = ['plain', '', "it's", "''", 'a b  c', '$(touch /nonexistent)', '`id`', '"double"', 'back\\slash', 'new\nline', "mix 'of' \"all\" $x `y` \\z", '*?[a]', '-n'];
for (const s of QUOTE_CASES) {
  test(`shQuote(${JSON.stringify(s)}) round-trips through sh`, () => {
    const out = execFileSync('sh', ['-c', `printf '%s' ${shQuote(s)}`], { encoding: 'utf8' });
    assert.is(out, s);
  });
}

test('shQuote output', () => {
  assert.is(shQuote('abc'), "'abc'");
  assert.is(shQuote("it's"), "'it'\\''s'");
  assert.is(shQuote(''), "''");
});

// ---------------------------------------------------------------------------------------------------------
// The script

test('sh -n accepts the generated script', () => {
  const script = buildConfigureScript(PACKAGES, RECIPE);
  const r = shSyntaxOk(script);
  assert.ok(r.ok, r.stderr);
  assert.ok(script.endsWith('\n'));
});

test('sh -n accepts the script for every recipe switch combination and for no packages', () => {
  for (const policyRcD of [true, false]) {
    for (const startStopDaemon of [true, false]) {
      for (const shims of [[], RECIPE.shims]) {
        for (const pkgs of [PACKAGES, []]) {
          const script = buildConfigureScript(pkgs, { ...RECIPE, policyRcD, startStopDaemon, shims });
          const r = shSyntaxOk(script);
          assert.ok(r.ok, `${JSON.stringify({ policyRcD, startStopDaemon, shims: shims.length, pkgs: pkgs.length })}: ${r.stderr}`);
        }
      }
    }
  }
});

test('sh -n really checks: a broken script is refused', () => {
  assert.not.ok(shSyntaxOk('if true; then echo').ok);
});

test('the cleanup trap is set first, before set -e and any scaffolding; signals run it too', () => {
  const script = buildConfigureScript(PACKAGES, RECIPE);
  const ls = lines(script);
  assert.match(ls[0]!, /^cleanup\(\) \{ .* \}$/);
  assert.is(ls[1], 'trap cleanup EXIT');
  const setE = ls.indexOf('set -e');
  assert.ok(setE > 1);
  assert.is(ls[setE + 1], 'exec </dev/null');
  // dash runs the EXIT trap on a signal only when the signal is trapped: INT and TERM must be.
  const traps = ls.slice(2, setE);
  assert.ok(traps.every((l) => l.startsWith('trap ')), traps.join(' / '));
  assert.ok(traps.some((l) => /\bINT\b/.test(l)), 'INT trapped');
  assert.ok(traps.some((l) => /\bTERM\b/.test(l)), 'TERM trapped');
  assert.ok(indexOfLine(script, '> /usr/sbin/policy-rc.d') > setE);
  assert.ok(indexOfLine(script, 'mv "$ssd" "$ssd.REAL"') > setE);
});

test('policy-rc.d answering 101 is installed and removed by the trap', () => {
  const script = buildConfigureScript(PACKAGES, RECIPE);
  assert.ok(script.includes(`printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d`));
  assert.ok(script.includes('chmod 755 /usr/sbin/policy-rc.d'));
  assert.match(lines(script)[0]!, 'rm -f /usr/sbin/policy-rc.d');
  const without = buildConfigureScript(PACKAGES, { ...RECIPE, policyRcD: false });
  assert.not.ok(without.includes('policy-rc.d'));
});

test('the fake start-stop-daemon is put in place and restored by the trap', () => {
  const script = buildConfigureScript(PACKAGES, RECIPE);
  assert.ok(script.includes('for f in /usr/sbin/start-stop-daemon /sbin/start-stop-daemon'));
  assert.ok(script.includes('mv "$ssd" "$ssd.REAL"'));
  assert.ok(script.includes('Fake start-stop-daemon called'));
  assert.match(lines(script)[0]!, 'mv "$ssd.REAL" "$ssd"');
  const without = buildConfigureScript(PACKAGES, { ...RECIPE, startStopDaemon: false });
  assert.not.ok(without.includes('start-stop-daemon'));
});

test('with no scaffolding the cleanup function is a no-op that still parses', () => {
  const script = buildConfigureScript(PACKAGES, { ...RECIPE, policyRcD: false, startStopDaemon: false, shims: [] });
  assert.is(lines(script)[0], 'cleanup() { :; }');
  assert.ok(shSyntaxOk(script).ok);
});

test('the scaffolding actually works: run the start-stop-daemon and cleanup parts in a temp dir', async () => {
  // The script's paths are absolute; rewrite them into a temp dir and run just the scaffolding lines.
  const dir = await mkdtemp(join(tmpdir(), 'rootstrap-configure-'));
  try {
    const real = '#!/bin/sh\necho real\n';
    await writeFile(join(dir, 'start-stop-daemon'), real, { mode: 0o755 });
    const script = buildConfigureScript([], { ...RECIPE, policyRcD: true, shims: [] });
    const scaffold = lines(script)
      .filter((l) => !l.startsWith('echo ') && !l.startsWith('dpkg ') && l !== 'exec </dev/null')
      .join('\n')
      .replaceAll('/usr/sbin/start-stop-daemon /sbin/start-stop-daemon', `${dir}/start-stop-daemon`)
      .replaceAll('/usr/sbin/policy-rc.d', `${dir}/policy-rc.d`);
    assert.not.ok(scaffold.includes('/usr/sbin'), 'every host path was rewritten');
    const during = `${scaffold}\n"$ssd" >"${dir}/during.txt"; "${dir}/policy-rc.d" || echo "status $?" >>"${dir}/during.txt"\n`;
    execFileSync('sh', ['-c', during]);
    const out = await readFile(join(dir, 'during.txt'), 'utf8');
    assert.match(out, 'Warning: Fake start-stop-daemon called, doing nothing');
    assert.match(out, 'status 101');
    // After the script, the trap restored the real one and removed policy-rc.d.
    const afterRun = async (): Promise<void> => {
      assert.is(await readFile(join(dir, 'start-stop-daemon'), 'utf8'), real);
      assert.not.ok(existsSync(join(dir, 'policy-rc.d')), 'policy-rc.d left behind');
      assert.not.ok(existsSync(join(dir, 'start-stop-daemon.REAL')), '.REAL left behind');
    };
    await afterRun();
    // The trap also runs when the script fails under set -e.
    const failed = spawnSync('sh', ['-c', `${scaffold}\nfalse\necho not reached\n`], { encoding: 'utf8' });
    assert.is(failed.status, 1);
    assert.not.match(failed.stdout, 'not reached');
    await afterRun();
    // ...and when it is killed by SIGTERM.
    const killed = spawnSync('sh', ['-c', `${scaffold}\nkill -TERM $$\nsleep 5\n`], { encoding: 'utf8' });
    assert.is(killed.status, 143);
    await afterRun();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("base-passwd's preinst runs first, then the others in the given order", () => {
  const script = buildConfigureScript(PACKAGES, RECIPE);
  const preinsts = lines(script).filter((l) => l.includes('DPKG_MAINTSCRIPT_NAME=preinst'));
  const order = preinsts.map((l) => /DPKG_MAINTSCRIPT_PACKAGE='([^']*)'/.exec(l)![1]);
  assert.equal(order, ['base-passwd', 'base-files', 'dpkg', 'libc6', 'bash']);
  assert.ok(indexOfLine(script, 'running preinst scripts') < indexOfLine(script, "DPKG_MAINTSCRIPT_PACKAGE='base-passwd'"));
});

test('only packages that have a preinst get one run, with the info prefix and "install"', () => {
  const script = buildConfigureScript(PACKAGES, RECIPE);
  assert.not.ok(script.includes('mawk.preinst'));
  assert.not.ok(script.includes('coreutils.preinst'));
  const libc = lines(script).find((l) => l.includes("DPKG_MAINTSCRIPT_PACKAGE='libc6'"))!;
  assert.match(libc, "'/var/lib/dpkg/info/libc6:amd64.preinst' install ||");
  assert.match(libc, "DPKG_MAINTSCRIPT_ARCH='amd64'");
  assert.match(libc, "DPKG_RUNNING_VERSION='1.21.22'");
  assert.match(libc, 'exit 1');
});

test('base-passwd without a preinst, or absent, changes nothing in the order', () => {
  const withoutPreinst = buildConfigureScript([p('a', true), p('base-passwd', false)], RECIPE);
  assert.not.ok(withoutPreinst.includes('base-passwd.preinst'));
  const absent = buildConfigureScript([p('b', true), p('a', true)], RECIPE);
  const order = lines(absent).filter((l) => l.includes('.preinst')).map((l) => /DPKG_MAINTSCRIPT_PACKAGE='([^']*)'/.exec(l)![1]);
  assert.equal(order, ['b', 'a']);
});

test('core packages are configured first, in recipe order, only those present; then dpkg --configure -a', () => {
  const script = buildConfigureScript(PACKAGES, RECIPE);
  const configured = lines(script).filter((l) => l.includes('dpkg --force-depends')).map((l) => /--configure '([^']*)'/.exec(l)![1]);
  // perl-base is not in the package list; mawk comes after the core because a shim removes before it.
  assert.equal(configured, ['base-passwd', 'base-files', 'dpkg', 'libc6', 'mawk']);
  assert.ok(lines(script).filter((l) => l.includes('dpkg --force-depends')).every((l) => l.includes('dpkg-query') && l.includes('!= installed')));
  assert.is(lines(script).at(-2), 'dpkg --configure -a');
  assert.is(script.match(/dpkg --configure -a/g)!.length, 1);
});

test('the awk shim: created when mawk is selected, removed just before mawk is configured, and by the trap', () => {
  const script = buildConfigureScript(PACKAGES, RECIPE);
  const create = indexOfLine(script, "ln -s 'mawk' '/usr/bin/awk'");
  const remove = lines(script).findIndex((l, i) => i > 2 && l.includes("readlink '/usr/bin/awk'") && l.includes('rm -f'));
  const configureMawk = indexOfLine(script, "--configure 'mawk'");
  assert.ok(create > 2 && create < remove && remove < configureMawk, `${create} ${remove} ${configureMawk}`);
  assert.match(lines(script)[0]!, "readlink '/usr/bin/awk'");
  // No mawk: no shim.
  const noMawk = buildConfigureScript(PACKAGES.filter((x) => x.name !== 'mawk'), RECIPE);
  assert.not.ok(noMawk.includes('/usr/bin/awk'));
});

test('a shim for a core package is removed just before that core package is configured', () => {
  const recipe = { ...RECIPE, shims: [{ path: '/bin/x', target: 'y', removeBefore: 'dpkg' }] };
  const script = buildConfigureScript(PACKAGES, recipe);
  const remove = lines(script).findIndex((l, i) => i > 2 && l.includes("readlink '/bin/x'"));
  assert.is(remove + 1, indexOfLine(script, "--configure 'dpkg'"));
  assert.is(script.match(/--configure 'dpkg'/g)!.length, 1);
});

test('names are single-quoted in variables and dpkg arguments', () => {
  const script = buildConfigureScript([p("it's", true), p('base-files', true)], { ...RECIPE, coreFirst: ["it's"] });
  assert.ok(script.includes(`DPKG_MAINTSCRIPT_PACKAGE='it'\\''s'`));
  assert.ok(script.includes(`--configure 'it'\\''s'`));
  assert.ok(script.includes(`--show 'it'\\''s'`));
});

// Regression: the package name used to be interpolated unquoted into double-quoted echo messages and the
// preinst path, so a name with a quote broke the script and a name with $(...) would run a command. Names
// from Packages indexes are validated (SAFE_NAME in packages-index.ts); this is defence in depth.
test('a hostile name never reaches the shell unquoted (sh -n accepts it; no $(...) outside single quotes)', () => {
  for (const name of ["it's", 'x$(touch /nonexistent-rootstrap)', 'a"b']) {
    const script = buildConfigureScript([p(name, true)], { ...RECIPE, coreFirst: [name] });
    const r = shSyntaxOk(script);
    assert.ok(r.ok, `${JSON.stringify(name)}: ${r.stderr}`);
    const rest = script.replace(/'[^']*'/g, ''); // what the shell reads outside single quotes
    assert.not.ok(rest.includes(name), `${JSON.stringify(name)} appears outside single quotes: ${lines(rest).filter((l) => l.includes(name)).join(' / ')}`);
  }
});

test('CONFIGURE_ENV is a sane non-interactive environment', () => {
  assert.is(CONFIGURE_ENV.DEBIAN_FRONTEND, 'noninteractive');
  assert.is(CONFIGURE_ENV.LC_ALL, 'C');
  assert.ok(CONFIGURE_ENV.PATH!.split(':').includes('/usr/sbin'));
  assert.ok(CONFIGURE_ENV.PATH!.split(':').includes('/sbin'));
});

test.run();
