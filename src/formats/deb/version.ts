/**
 * Debian version numbers and their order: deb-version(7), Debian Policy §5.6.12.
 * [epoch:]upstream_version[-debian_revision]; letters sort before non-letters, `~` before everything,
 * even the end of the string.
 */
export interface DebVersion {
  epoch: number;
  upstream: string;
  revision: string;
}

/** Parse a version string; returns undefined when it is not a valid Debian version. */
export function parseVersion(text: string): DebVersion | undefined {
  const trimmed = text.trim();
  // The revision is everything after the LAST hyphen; the upstream part may contain hyphens only if a revision exists.
  const colon = trimmed.indexOf(':');
  let epoch = 0;
  let rest = trimmed;
  if (colon >= 0) {
    const epochText = trimmed.slice(0, colon);
    if (!/^\d+$/.test(epochText)) return undefined;
    epoch = Number(epochText);
    rest = trimmed.slice(colon + 1);
  }
  const hyphen = rest.lastIndexOf('-');
  const upstream = hyphen >= 0 ? rest.slice(0, hyphen) : rest;
  const revision = hyphen >= 0 ? rest.slice(hyphen + 1) : '';
  if (upstream === '' || !/^[0-9]/.test(upstream)) return undefined;
  if (!/^[A-Za-z0-9.+~:-]*$/.test(upstream)) return undefined;
  if (upstream.includes(':') && colon < 0) return undefined;
  if (hyphen >= 0 && !/^[A-Za-z0-9.+~]+$/.test(revision)) return undefined;
  return { epoch, upstream, revision };
}

function order(c: number): number {
  // c is a char code, or 0 for "end of part".
  if (c === 0x7e) return -1; // '~'
  if (c === 0) return 0;
  if ((c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a)) return c; // letters
  return c + 256; // everything else after letters
}

function isDigit(c: number | undefined): boolean {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

/** The dpkg `verrevcmp` algorithm over one part (upstream or revision). */
export function compareFragment(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let firstDiff = 0;
    while ((i < a.length && !isDigit(a.charCodeAt(i))) || (j < b.length && !isDigit(b.charCodeAt(j)))) {
      const ac = i < a.length ? order(a.charCodeAt(i)) : 0;
      const bc = j < b.length ? order(b.charCodeAt(j)) : 0;
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (a.charCodeAt(i) === 0x30) i++;
    while (b.charCodeAt(j) === 0x30) j++;
    while (isDigit(a.charCodeAt(i)) && isDigit(b.charCodeAt(j))) {
      if (firstDiff === 0) firstDiff = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (isDigit(a.charCodeAt(i))) return 1;
    if (isDigit(b.charCodeAt(j))) return -1;
    if (firstDiff !== 0) return firstDiff;
  }
  return 0;
}

function sign(n: number): -1 | 0 | 1 {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

/** Compare two versions: -1, 0 or 1. Unparseable strings compare as dpkg would compare their parts. */
export function compareVersions(a: string | DebVersion, b: string | DebVersion): -1 | 0 | 1 {
  const va = typeof a === 'string' ? (parseVersion(a) ?? looseVersion(a)) : a;
  const vb = typeof b === 'string' ? (parseVersion(b) ?? looseVersion(b)) : b;
  if (va.epoch !== vb.epoch) return va.epoch < vb.epoch ? -1 : 1;
  const up = compareFragment(va.upstream, vb.upstream);
  if (up !== 0) return sign(up);
  return sign(compareFragment(va.revision, vb.revision));
}

function looseVersion(text: string): DebVersion {
  const colon = text.indexOf(':');
  const epoch = colon >= 0 ? Number(text.slice(0, colon)) || 0 : 0;
  const rest = colon >= 0 ? text.slice(colon + 1) : text;
  const hyphen = rest.lastIndexOf('-');
  return hyphen >= 0
    ? { epoch, upstream: rest.slice(0, hyphen), revision: rest.slice(hyphen + 1) }
    : { epoch, upstream: rest, revision: '' };
}

export type Relation = '<<' | '<=' | '=' | '>=' | '>>';

/** Does `version` satisfy `op constraint`? Policy §7.1. */
export function satisfiesVersion(version: string, op: Relation, constraint: string): boolean {
  const c = compareVersions(version, constraint);
  switch (op) {
    case '<<':
      return c < 0;
    case '<=':
      return c <= 0;
    case '=':
      return c === 0;
    case '>=':
      return c >= 0;
    case '>>':
      return c > 0;
  }
}
