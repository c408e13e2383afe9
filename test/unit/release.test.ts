import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { VerifyError } from '../../src/errors.js';
import { checkReleaseDates, parseRelease, parseReleaseDate, type ReleaseFile } from '../../src/formats/deb/release.js';

const H1 = 'a'.repeat(64);
const H2 = '0123456789abcdef'.repeat(4);
const H3 = 'ABCDEF0123456789'.repeat(4);

const RELEASE = `Origin: Debian
Label: Debian
Suite: stable
Version: 12.5
Codename: bookworm
Changelogs: https://metadata.example.test/changelogs/@CHANGEPATH@_changelog
Date: Sat, 10 Feb 2024 10:06:42 UTC
Acquire-By-Hash: yes
No-Support-for-Architecture-all: Packages
Architectures: all amd64 arm64 i386
Components: main contrib non-free-firmware non-free
Description: Debian 12.5 Released 10 February 2024
MD5Sum:
 ${'f'.repeat(32)}   1234 main/binary-amd64/Packages
SHA256:
 ${H1}  8812345 main/binary-amd64/Packages
 ${H2}  2012345 main/binary-amd64/Packages.xz
 ${H3}      117 main/binary-amd64/Release
`;

const expectVerifyError = (fn: () => unknown, code: string): VerifyError => {
  try {
    fn();
  } catch (error) {
    assert.instance(error, VerifyError);
    assert.is((error as VerifyError).code, code);
    assert.is((error as VerifyError).kind, 'verify');
    return error as VerifyError;
  }
  assert.unreachable(`expected VerifyError ${code}`);
  throw new Error('unreachable');
};

test('parseRelease reads the scalar fields', () => {
  const r = parseRelease(RELEASE, 'InRelease');
  assert.is(r.origin, 'Debian');
  assert.is(r.label, 'Debian');
  assert.is(r.suite, 'stable');
  assert.is(r.version, '12.5');
  assert.is(r.codename, 'bookworm');
  assert.is(r.acquireByHash, true);
  assert.is(r.noSupportForArchitectureAll, true);
  assert.equal(r.architectures, ['all', 'amd64', 'arm64', 'i386']);
  assert.equal(r.components, ['main', 'contrib', 'non-free-firmware', 'non-free']);
  assert.is(r.date!.toISOString(), '2024-02-10T10:06:42.000Z');
  assert.is(r.validUntil, undefined);
});

test('parseRelease puts the SHA256 list in a Map keyed by path (hashes lower-cased, sizes numbers)', () => {
  const r = parseRelease(RELEASE, 'InRelease');
  assert.is(r.files.size, 3);
  assert.equal(r.files.get('main/binary-amd64/Packages'), { path: 'main/binary-amd64/Packages', size: 8812345, sha256: H1 });
  assert.equal(r.files.get('main/binary-amd64/Packages.xz'), { path: 'main/binary-amd64/Packages.xz', size: 2012345, sha256: H2 });
  assert.equal(r.files.get('main/binary-amd64/Release'), { path: 'main/binary-amd64/Release', size: 117, sha256: H3.toLowerCase() });
  // The MD5Sum list is not used.
  for (const e of r.files.values()) assert.is(e.sha256.length, 64);
});

test('a minimal Release: defaults for everything absent', () => {
  const r = parseRelease('Codename: sid\n', 'Release');
  assert.is(r.codename, 'sid');
  assert.is(r.origin, undefined);
  assert.is(r.suite, undefined);
  assert.is(r.date, undefined);
  assert.is(r.acquireByHash, false);
  assert.is(r.noSupportForArchitectureAll, false);
  assert.equal(r.architectures, []);
  assert.equal(r.components, []);
  assert.is(r.files.size, 0);
});

for (const [value, expected] of [['yes', true], ['Yes', true], ['YES', true], ['no', false], ['true', false], ['', false]] as const) {
  test(`Acquire-By-Hash: ${JSON.stringify(value)} -> ${expected}`, () => {
    assert.is(parseRelease(`Codename: x\nAcquire-By-Hash: ${value}\n`, 'R').acquireByHash, expected);
  });
}

test('field names are case-insensitive and CRLF is tolerated', () => {
  const r = parseRelease(`codename: bookworm\r\nVALID-UNTIL: Sat, 17 Feb 2024 10:06:42 UTC\r\nsha256:\r\n ${H1} 5 main/x\r\n`, 'R');
  assert.is(r.codename, 'bookworm');
  assert.is(r.validUntil!.toISOString(), '2024-02-17T10:06:42.000Z');
  assert.equal(r.files.get('main/x'), { path: 'main/x', size: 5, sha256: H1 });
});

test('Valid-Until is read', () => {
  const r = parseRelease('Date: Sat, 10 Feb 2024 10:06:42 UTC\nValid-Until: Sat, 17 Feb 2024 10:06:42 UTC\n', 'R');
  assert.is(r.validUntil!.getTime() - r.date!.getTime(), 7 * 86400_000);
});

test('parseReleaseDate reads RFC 2822 dates, with UTC, GMT or a numeric zone', () => {
  assert.is(parseReleaseDate('Sat, 10 Feb 2024 10:06:42 UTC', 's', 'Date').toISOString(), '2024-02-10T10:06:42.000Z');
  assert.is(parseReleaseDate('Sat, 10 Feb 2024 10:06:42 GMT', 's', 'Date').toISOString(), '2024-02-10T10:06:42.000Z');
  assert.is(parseReleaseDate('Sat, 10 Feb 2024 12:06:42 +0200', 's', 'Date').toISOString(), '2024-02-10T10:06:42.000Z');
});

for (const bad of ['yesterday', 'Sat, 99 Foo 2024 10:06:42 UTC', '']) {
  test(`an unreadable date ${JSON.stringify(bad)} is VerifyError release-date`, () => {
    const e = expectVerifyError(() => parseReleaseDate(bad, 'my/InRelease', 'Valid-Until'), 'release-date');
    assert.match(e.message, 'my/InRelease');
    assert.match(e.message, 'Valid-Until');
  });
}

test('an unreadable Date field in parseRelease is VerifyError release-date', () => {
  expectVerifyError(() => parseRelease('Codename: x\nDate: not a date\n', 'R'), 'release-date');
  expectVerifyError(() => parseRelease('Codename: x\nValid-Until: soon\n', 'R'), 'release-date');
});

test('an empty Release is VerifyError release-empty', () => {
  expectVerifyError(() => parseRelease('', 'R'), 'release-empty');
  expectVerifyError(() => parseRelease('\n\n', 'R'), 'release-empty');
});

const MALFORMED_SHA: Array<[string, string]> = [
  ['short hash', `${'a'.repeat(63)} 10 main/x`],
  ['non-hex hash', `${'g'.repeat(64)} 10 main/x`],
  ['size not a number', `${H1} ten main/x`],
  ['negative size', `${H1} -1 main/x`],
  ['hash and size swapped', `10 ${H1} main/x`],
];
for (const [name, line] of MALFORMED_SHA) {
  test(`malformed SHA256 line (${name}) is VerifyError release-sha256`, () => {
    const e = expectVerifyError(() => parseRelease(`Codename: x\nSHA256:\n ${H2} 1 main/ok\n ${line}\n`, 'R'), 'release-sha256');
    assert.match(e.message, line.trim());
  });
}

const at = (iso: string): Date => new Date(iso);
const release = (date?: string, validUntil?: string): ReleaseFile => {
  const r: ReleaseFile = { architectures: [], components: [], acquireByHash: false, noSupportForArchitectureAll: false, files: new Map() };
  if (date) r.date = at(date);
  if (validUntil) r.validUntil = at(validUntil);
  return r;
};

test('checkReleaseDates: a current Release passes', () => {
  checkReleaseDates(release('2024-02-10T10:00:00Z', '2024-02-17T10:00:00Z'), 'R', at('2024-02-12T00:00:00Z'));
});

test('checkReleaseDates: Valid-Until in the past is release-expired', () => {
  const e = expectVerifyError(
    () => checkReleaseDates(release('2024-02-10T10:00:00Z', '2024-02-17T10:00:00Z'), 'security/InRelease', at('2024-02-17T10:00:01Z')),
    'release-expired',
  );
  assert.match(e.message, 'security/InRelease');
  assert.match(e.message, '2024-02-17T10:00:00.000Z');
});

test('checkReleaseDates: Valid-Until exactly now is still valid', () => {
  checkReleaseDates(release(undefined, '2024-02-17T10:00:00Z'), 'R', at('2024-02-17T10:00:00Z'));
});

test('checkReleaseDates: Date in the future beyond the clock skew is release-future', () => {
  expectVerifyError(() => checkReleaseDates(release('2024-02-10T10:11:00Z'), 'R', at('2024-02-10T10:00:00Z')), 'release-future');
});

test('checkReleaseDates: Date in the future within the default 10-minute skew passes', () => {
  checkReleaseDates(release('2024-02-10T10:09:59Z'), 'R', at('2024-02-10T10:00:00Z'));
  checkReleaseDates(release('2024-02-10T10:10:00Z'), 'R', at('2024-02-10T10:00:00Z'));
});

test('checkReleaseDates: the skew is a parameter', () => {
  checkReleaseDates(release('2024-02-10T10:30:00Z'), 'R', at('2024-02-10T10:00:00Z'), 3600_000);
  expectVerifyError(() => checkReleaseDates(release('2024-02-10T10:00:01Z'), 'R', at('2024-02-10T10:00:00Z'), 0), 'release-future');
});

test('checkReleaseDates: no Valid-Until (Ubuntu style) never expires', () => {
  checkReleaseDates(release('2001-01-01T00:00:00Z'), 'R', at('2099-01-01T00:00:00Z'));
  checkReleaseDates(release(), 'R', at('2099-01-01T00:00:00Z'));
});

test('checkReleaseDates on parsed files', () => {
  const r = parseRelease('Date: Sat, 10 Feb 2024 10:06:42 UTC\nValid-Until: Sat, 17 Feb 2024 10:06:42 UTC\n', 'R');
  checkReleaseDates(r, 'R', at('2024-02-11T00:00:00Z'));
  expectVerifyError(() => checkReleaseDates(r, 'R', at('2024-03-01T00:00:00Z')), 'release-expired');
  expectVerifyError(() => checkReleaseDates(r, 'R', at('2024-02-01T00:00:00Z')), 'release-future');
});

test.run();
