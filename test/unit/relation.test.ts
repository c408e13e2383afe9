import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type AlternativeGroup, formatDependency, formatGroup, parseRelations, RelationSyntaxError } from '../../src/formats/deb/relation.js';

test('a (>= 1.0) | b:any, c', () => {
  assert.equal(parseRelations('a (>= 1.0) | b:any, c'), [
    [{ name: 'a', op: '>=', version: '1.0' }, { name: 'b', archQualifier: 'any' }],
    [{ name: 'c' }],
  ]);
});

test('every operator, and the obsolete < and > meaning <= and >=', () => {
  const cases: Array<[string, string]> = [['<<', '<<'], ['<=', '<='], ['=', '='], ['>=', '>='], ['>>', '>>'], ['<', '<='], ['>', '>=']];
  for (const [written, op] of cases) {
    assert.equal(parseRelations(`x (${written} 2:1.0-1)`), [[{ name: 'x', op, version: '2:1.0-1' }]], written);
  }
});

// Spacing variants that must all parse to the same thing.
const SPACING = [
  'libc6 (>= 2.36), zlib1g',
  'libc6(>=2.36),zlib1g',
  '  libc6   ( >=   2.36 )  ,   zlib1g  ',
  'libc6 (>= 2.36),\n zlib1g',
  'libc6\t(>=\t2.36),\tzlib1g',
  'libc6 (>= 2.36), zlib1g,',
  ', libc6 (>= 2.36), , zlib1g',
];
for (const text of SPACING) {
  test(`spacing variant ${JSON.stringify(text)}`, () => {
    assert.equal(parseRelations(text), [[{ name: 'libc6', op: '>=', version: '2.36' }], [{ name: 'zlib1g' }]]);
  });
}

test('alternatives keep their order', () => {
  const groups = parseRelations('a|b | c  |d');
  assert.equal(groups.map((g) => g.map((d) => d.name)), [['a', 'b', 'c', 'd']]);
});

test('architecture restrictions and build profiles are accepted and ignored', () => {
  assert.equal(parseRelations('foo [amd64 i386], bar (>= 1) [!hurd-i386] <!nocheck>, baz <!nocheck> <cross>'), [
    [{ name: 'foo' }],
    [{ name: 'bar', op: '>=', version: '1' }],
    [{ name: 'baz' }],
  ]);
});

test('arch qualifiers: any, native, a named arch; names and qualifiers lower-cased', () => {
  assert.equal(parseRelations('python3:any, perl:native, libfoo:amd64 (= 1), Mixed:ANY'), [
    [{ name: 'python3', archQualifier: 'any' }],
    [{ name: 'perl', archQualifier: 'native' }],
    [{ name: 'libfoo', archQualifier: 'amd64', op: '=', version: '1' }],
    [{ name: 'mixed', archQualifier: 'any' }],
  ]);
});

test('package names with + . - and digits', () => {
  assert.equal(parseRelations('libstdc++6, g++-12, 0ad-data, lib.x'), [[{ name: 'libstdc++6' }], [{ name: 'g++-12' }], [{ name: '0ad-data' }], [{ name: 'lib.x' }]]);
});

for (const field of [undefined, '', '   ', ',', ' , ,\n ']) {
  test(`empty field ${JSON.stringify(field)} gives no groups`, () => {
    assert.equal(parseRelations(field), []);
  });
}

const BAD = [
  'a (= )',
  'a ()',
  'a (>= 1.0',
  'a (~ 1.0)',
  'a (1.0)',
  'a b',
  '-a',
  'a | | b',
  '|a',
  'a (>= 1) (<< 2)',
  'a:',
  'a [amd64',
  'a (>= 1 2)',
  'a/b',
];
for (const text of BAD) {
  test(`syntax error: ${JSON.stringify(text)}`, () => {
    try {
      parseRelations(text);
      assert.unreachable(`parsed ${JSON.stringify(parseRelations(text))}`);
    } catch (error) {
      if ((error as Error).name === 'Assertion') throw error;
      assert.instance(error, RelationSyntaxError);
      assert.instance(error, Error);
    }
  });
}

// Regression (found by this suite, fixed in d973e32): RELATION_RE used to backtrack so that `a (>= )` parsed
// as `a (>= =)` and `a (>>)` as `a (>= >)`; dpkg refuses both (dpkg-deb --build: "version string is empty").
test('syntax error: an operator without a version', () => {
  const accepted: string[] = [];
  for (const text of ['a (>= )', 'a (>>)', 'a (<<)', 'a (<= )']) {
    try {
      accepted.push(`${text} -> ${JSON.stringify(parseRelations(text))}`);
    } catch (error) {
      assert.instance(error, RelationSyntaxError);
    }
  }
  assert.equal(accepted, []);
});

test('formatDependency', () => {
  assert.is(formatDependency({ name: 'libc6', op: '>=', version: '2.36' }), 'libc6 (>= 2.36)');
  assert.is(formatDependency({ name: 'python3', archQualifier: 'any' }), 'python3:any');
  assert.is(formatDependency({ name: 'x', archQualifier: 'amd64', op: '<<', version: '1:2' }), 'x:amd64 (<< 1:2)');
  assert.is(formatDependency({ name: 'y' }), 'y');
});

test('formatGroup joins alternatives; format(parse(x)) is canonical', () => {
  const group: AlternativeGroup = [{ name: 'a', op: '>=', version: '1.0' }, { name: 'b', archQualifier: 'any' }];
  assert.is(formatGroup(group), 'a (>= 1.0) | b:any');
  assert.is(formatGroup([]), '');
  const text = 'a(>1.0)|b:any [amd64] <!nocheck>,c';
  assert.equal(parseRelations(text).map(formatGroup), ['a (>= 1.0) | b:any', 'c']);
  assert.equal(parseRelations(parseRelations(text).map(formatGroup).join(', ')), parseRelations(text));
});

test.run();
