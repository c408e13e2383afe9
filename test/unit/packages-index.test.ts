import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { VerifyError } from '../../src/errors.js';
import { parsePackagesIndex } from '../../src/formats/deb/packages-index.js';

const SHA = 'b'.repeat(64);

/** One Packages paragraph; `over` replaces fields (undefined removes one). */
function para(over: Record<string, string | undefined> = {}): string {
  const fields: Record<string, string | undefined> = {
    Package: 'hello',
    Version: '2.10-3',
    Architecture: 'amd64',
    Filename: 'pool/main/h/hello/hello_2.10-3_amd64.deb',
    Size: '53164',
    SHA256: SHA,
    ...over,
  };
  return Object.entries(fields).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}: ${v}`).join('\n') + '\n';
}

const expectCode = (text: string, code: string): VerifyError => {
  try {
    parsePackagesIndex(text, 'main', 'main/binary-amd64/Packages');
  } catch (error) {
    assert.instance(error, VerifyError);
    assert.is((error as VerifyError).code, code);
    assert.match((error as Error).message, 'main/binary-amd64/Packages');
    return error as VerifyError;
  }
  assert.unreachable(`expected VerifyError ${code}`);
  throw new Error('unreachable');
};

test('required fields only', () => {
  const [r, ...rest] = parsePackagesIndex(para(), 'main', 'P');
  assert.is(rest.length, 0);
  assert.equal(r, {
    name: 'hello',
    version: '2.10-3',
    architecture: 'amd64',
    essential: false,
    filename: 'pool/main/h/hello/hello_2.10-3_amd64.deb',
    size: 53164,
    sha256: SHA,
    component: 'main',
  });
});

test('optional fields are copied; fields not needed are dropped', () => {
  const text = para({
    Priority: 'required',
    Section: 'shells',
    'Pre-Depends': 'libc6 (>= 2.36)',
    Depends: 'base-files,\n debianutils (>= 5.6)',
    Provides: 'sh',
    Conflicts: 'old-bash',
    Breaks: 'other (<< 1)',
    'Multi-Arch': 'foreign',
    Essential: 'yes',
    Description: 'GNU Bourne Again SHell\n long text',
    Maintainer: 'Someone <x@example.test>',
    MD5sum: 'c'.repeat(32),
  });
  const [r] = parsePackagesIndex(text, 'contrib', 'P');
  assert.equal(r, {
    name: 'hello',
    version: '2.10-3',
    architecture: 'amd64',
    essential: true,
    filename: 'pool/main/h/hello/hello_2.10-3_amd64.deb',
    size: 53164,
    sha256: SHA,
    component: 'contrib',
    multiArch: 'foreign',
    priority: 'required',
    section: 'shells',
    depends: 'base-files,\n debianutils (>= 5.6)',
    preDepends: 'libc6 (>= 2.36)',
    provides: 'sh',
    conflicts: 'old-bash',
    breaks: 'other (<< 1)',
  });
});

for (const [value, expected] of [['same', 'same'], ['foreign', 'foreign'], ['allowed', 'allowed'], ['no', 'no'], ['Foreign', 'foreign'], ['bogus', undefined]] as const) {
  test(`Multi-Arch: ${value} -> ${expected}`, () => {
    const [r] = parsePackagesIndex(para({ 'Multi-Arch': value }), 'main', 'P');
    assert.is(r!.multiArch, expected);
    assert.is('multiArch' in r!, expected !== undefined);
  });
}

for (const [value, expected] of [['yes', true], ['Yes', true], ['no', false], ['true', false]] as const) {
  test(`Essential: ${value} -> ${expected}`, () => {
    assert.is(parsePackagesIndex(para({ Essential: value }), 'main', 'P')[0]!.essential, expected);
  });
}

test('several paragraphs, in order; the hash is lower-cased', () => {
  const text = [para({ Package: 'a' }), para({ Package: 'b', SHA256: 'ABCDEF0123456789'.repeat(4), Architecture: 'all' })].join('\n');
  const rs = parsePackagesIndex(text, 'main', 'P');
  assert.equal(rs.map((r) => r.name), ['a', 'b']);
  assert.is(rs[1]!.sha256, 'abcdef0123456789'.repeat(4));
  assert.is(rs[1]!.architecture, 'all');
});

test('an empty index has no records', () => {
  assert.equal(parsePackagesIndex('', 'main', 'P'), []);
});

for (const field of ['Package', 'Version', 'Architecture', 'Filename', 'Size', 'SHA256']) {
  test(`missing ${field} is VerifyError index-record`, () => {
    expectCode(para({ [field]: undefined }), 'index-record');
  });
  test(`empty ${field} is VerifyError index-record`, () => {
    expectCode(para({ [field]: '' }), 'index-record');
  });
}

test('a bad record after good ones still fails the whole index', () => {
  expectCode(para({ Package: 'a' }) + '\n' + para({ Package: 'b', SHA256: undefined }), 'index-record');
});

test('a syntax error in the index is reported (ControlSyntaxError, a verify error)', () => {
  try {
    parsePackagesIndex('Package: a\nthis is not a field\n', 'main', 'P');
    assert.unreachable('should throw');
  } catch (error) {
    assert.is((error as { code?: string }).code, 'control-syntax');
  }
});

const UNSAFE_NAMES = ['foo/bar', '../x', '..', '.hidden', 'Foo', 'a b', '-a', 'a_b', 'x\\y', '+a'];
for (const name of UNSAFE_NAMES) {
  test(`unsafe package name ${JSON.stringify(name)} is VerifyError index-name`, () => {
    expectCode(para({ Package: name }), 'index-name');
  });
}

for (const name of ['libstdc++6', 'g++-12', '0ad', 'python3.11', 'a']) {
  test(`safe package name ${JSON.stringify(name)} is accepted`, () => {
    assert.is(parsePackagesIndex(para({ Package: name }), 'main', 'P')[0]!.name, name);
  });
}

const UNSAFE_FILENAMES = [
  '../etc/passwd',
  'pool/../../etc/passwd',
  'pool/main/..',
  '/etc/passwd',
  'pool//x.deb',
  'pool/./x.deb',
  'pool/x.deb/',
  './pool/x.deb',
  'pool/x y.deb',
  'pool/x\\y.deb',
  '~/x.deb',
  'pool/main/h/hello/hello.deb?x=1',
];
for (const filename of UNSAFE_FILENAMES) {
  test(`unsafe Filename ${JSON.stringify(filename)} is VerifyError index-filename`, () => {
    const e = expectCode(para({ Filename: filename }), 'index-filename');
    assert.match(e.message, 'hello');
  });
}

for (const filename of ['pool/main/libs/libstdc++6_12.2.0-14_amd64.deb', 'pool/main/e/epoch/epoch_1%3a2.0~rc1_all.deb', 'pool/main/x/x_1:2_all.deb', 'x.deb']) {
  test(`safe Filename ${JSON.stringify(filename)} is accepted`, () => {
    assert.is(parsePackagesIndex(para({ Filename: filename }), 'main', 'P')[0]!.filename, filename);
  });
}

const BAD_HASHES: Array<[string, Record<string, string>]> = [
  ['short SHA256', { SHA256: 'b'.repeat(63) }],
  ['long SHA256', { SHA256: 'b'.repeat(65) }],
  ['non-hex SHA256', { SHA256: 'z'.repeat(64) }],
  ['SHA256 with a space', { SHA256: `${'b'.repeat(32)} ${'b'.repeat(32)}` }],
  ['negative Size', { Size: '-1' }],
  ['fractional Size', { Size: '1.5' }],
  ['Size with letters', { Size: '12k' }],
];
for (const [name, over] of BAD_HASHES) {
  test(`${name} is VerifyError index-hash`, () => {
    expectCode(para(over), 'index-hash');
  });
}

test.run();
