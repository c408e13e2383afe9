/**
 * The configure stage of a Debian root, as one POSIX shell script run inside the target by the native helper:
 * what debootstrap's second stage does, without unpacking anything a second time.
 *
 * 1. Scaffolding: policy-rc.d answering 101 (invoke-rc.d(8): no service starts) and a fake
 *    start-stop-daemon (moved aside, restored afterwards), plus recipe shims (awk -> mawk until mawk is
 *    configured, as debootstrap does).
 * 2. Every preinst with "install", in dependency order, recipe's preinstFirst first (base-passwd's preinst
 *    writes /etc/passwd and /etc/group, which base-files' postinst needs to chown). dpkg runs a preinst from
 *    /var/lib/dpkg/tmp.ci, where debconf's frontend reads the package name from the control file; run from
 *    info/, debconf would register its templates to "unknown", so DEBCONF_PACKAGE names the package.
 * 3. `dpkg --configure --force-depends` of the recipe's core packages, in order, like debootstrap's
 *    x_core_install; then `dpkg --configure -a`, which orders the rest by their dependencies.
 * 4. The scaffolding is removed whatever happened (trap).
 */
import type { ConfigureRecipe, Shim } from '../../recipe/recipe.js';

export interface ConfigurePackage {
  name: string;
  /** info/ prefix: PKG or PKG:ARCH. */
  infoPrefix: string;
  arch: string;
  version: string;
  hasPreinst: boolean;
}

/**
 * dpkg (>= 1.17) configures the unconfigured dependencies of what it is asked to configure ("also
 * configuring"), so a core package may already be done by the time its turn comes.
 */
function configureIfNeeded(name: string): string {
  const q = shQuote(name);
  return `if [ "$(dpkg-query --showformat='\${db:Status-Status}' --show ${q})" != installed ]; then echo ${shQuote(`rootstrap: configuring ${name}`)}; dpkg --force-depends --force-configure-any --configure ${q}; fi`;
}

/** Remove a shim symlink only if it is still ours (a package may have replaced it, e.g. by an alternative). */
function removeShim(shim: Shim): string {
  return `if [ "$(readlink ${shQuote(shim.path)} 2>/dev/null)" = ${shQuote(shim.target)} ]; then rm -f ${shQuote(shim.path)}; fi`;
}

/** Single-quote for sh. */
export function shQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

export const CONFIGURE_ENV: Record<string, string> = {
  PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
  LC_ALL: 'C',
  LANGUAGE: 'C',
  LANG: 'C',
  DEBIAN_FRONTEND: 'noninteractive',
  DEBCONF_NONINTERACTIVE_SEEN: 'true',
  HOME: '/root',
  TERM: 'dumb',
};

export function buildConfigureScript(packages: readonly ConfigurePackage[], recipe: ConfigureRecipe): string {
  const names = new Set(packages.map((p) => p.name));
  const first = recipe.preinstFirst.filter((n) => names.has(n));
  const ordered = [...first.map((n) => packages.find((p) => p.name === n)!), ...packages.filter((p) => !first.includes(p.name))];
  const dpkgVersion = packages.find((p) => p.name === 'dpkg')?.version ?? '';
  const lines: string[] = ['set -e', 'exec </dev/null'];
  const cleanup: string[] = [];

  if (recipe.policyRcD) {
    lines.push(`printf '#!/bin/sh\\nexit 101\\n' > /usr/sbin/policy-rc.d`, 'chmod 755 /usr/sbin/policy-rc.d');
    cleanup.push('rm -f /usr/sbin/policy-rc.d');
  }
  if (recipe.startStopDaemon) {
    // With merged /usr, /sbin/start-stop-daemon and /usr/sbin/start-stop-daemon are one file: find it once.
    lines.push(
      'ssd=; for f in /usr/sbin/start-stop-daemon /sbin/start-stop-daemon; do if [ -f "$f" ] && [ ! -L "$f" ]; then ssd=$f; break; fi; done',
      'if [ -n "$ssd" ]; then mv "$ssd" "$ssd.REAL"; printf \'#!/bin/sh\\necho\\necho "Warning: Fake start-stop-daemon called, doing nothing"\\n\' > "$ssd"; chmod 755 "$ssd"; fi',
    );
    cleanup.push('if [ -n "$ssd" ] && [ -f "$ssd.REAL" ]; then mv "$ssd.REAL" "$ssd"; fi');
  }
  for (const shim of recipe.shims) {
    if (!names.has(shim.removeBefore)) continue;
    lines.push(`if [ ! -e ${shQuote(shim.path)} ] && [ ! -L ${shQuote(shim.path)} ]; then ln -s ${shQuote(shim.target)} ${shQuote(shim.path)}; fi`);
    cleanup.push(removeShim(shim));
  }
  // dash runs an EXIT trap on a signal only if the signal itself is trapped.
  lines.unshift(`cleanup() { ${cleanup.length ? cleanup.join('; ') : ':'}; }`, 'trap cleanup EXIT', "trap 'exit 130' INT", "trap 'exit 143' TERM HUP");

  lines.push('echo "rootstrap: running preinst scripts"');
  for (const p of ordered) {
    if (!p.hasPreinst) continue;
    const script = shQuote(`/var/lib/dpkg/info/${p.infoPrefix}.preinst`);
    lines.push(
      `DEBCONF_PACKAGE=${shQuote(p.name)} DPKG_MAINTSCRIPT_PACKAGE=${shQuote(p.name)} DPKG_MAINTSCRIPT_PACKAGE_REFCOUNT=1 DPKG_MAINTSCRIPT_ARCH=${shQuote(p.arch)} DPKG_MAINTSCRIPT_NAME=preinst DPKG_MAINTSCRIPT_DEBUG=0 DPKG_RUNNING_VERSION=${shQuote(dpkgVersion)} DPKG_ADMINDIR=/var/lib/dpkg DPKG_ROOT= ${script} install || { echo ${shQuote(`rootstrap: preinst of ${p.name} failed with status`)} $? >&2; exit 1; }`,
    );
  }
  const shimsFor = (pkg: string): string[] =>
    recipe.shims.filter((s) => s.removeBefore === pkg).map(removeShim);
  const core = recipe.coreFirst.filter((n) => names.has(n));
  for (const name of core) {
    lines.push(...shimsFor(name));
    lines.push(configureIfNeeded(name));
  }
  for (const shim of recipe.shims) {
    if (core.includes(shim.removeBefore) || !names.has(shim.removeBefore)) continue;
    lines.push(...shimsFor(shim.removeBefore));
    lines.push(configureIfNeeded(shim.removeBefore));
  }
  lines.push('echo "rootstrap: configuring the other packages"', 'dpkg --configure -a');
  return lines.join('\n') + '\n';
}
