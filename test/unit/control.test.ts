import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ControlSyntaxError, formatParagraph, Paragraph, parseParagraphs, parseSingleParagraph } from '../../src/formats/deb/control.js';
import { RootstrapError } from '../../src/errors.js';

const fieldsOf = (p: Paragraph): Array<[string, string]> => p.fields.map((f) => [f.name, f.value]);

test('parses several paragraphs separated by blank lines', () => {
  const ps = parseParagraphs('Package: a\nVersion: 1\n\nPackage: b\nVersion: 2\n');
  assert.is(ps.length, 2);
  assert.equal(fieldsOf(ps[0]!), [['Package', 'a'], ['Version', '1']]);
  assert.equal(fieldsOf(ps[1]!), [['Package', 'b'], ['Version', '2']]);
});

test('several blank lines (and whitespace-only lines) between paragraphs make no empty paragraph', () => {
  const ps = parseParagraphs('\n\nA: 1\n\n\n \t\n\nA: 2\n\n\n');
  assert.equal(ps.map((p) => p.get('A')), ['1', '2']);
});

// [description, text, expected values of field A per paragraph]
const EOF_CASES: Array<[string, string, string[]]> = [
  ['trailing newline', 'A: 1\n', ['1']],
  ['no trailing newline', 'A: 1', ['1']],
  ['trailing blank lines', 'A: 1\n\n\n', ['1']],
  ['continuation as the last line, no newline', 'A: 1\n more', ['1\n more']],
  ['continuation as the last line, newline', 'A: 1\n more\n', ['1\n more']],
  ['second paragraph without newline', 'A: 1\n\nA: 2', ['1', '2']],
  ['empty text', '', []],
  ['only blank lines', '\n\n\n', []],
];
for (const [name, text, expected] of EOF_CASES) {
  test(`end of file: ${name}`, () => {
    assert.equal(parseParagraphs(text).map((p) => p.get('A')), expected);
  });
}

test('continuation lines keep their leading whitespace, joined with newlines', () => {
  const [p] = parseParagraphs('Description: short\n long line one\n .\n\tlong line two\nNext: x\n');
  assert.is(p!.get('Description'), 'short\n long line one\n .\n\tlong line two');
  assert.is(p!.get('Next'), 'x');
});

test('a field whose value starts on the next line (Release SHA256 style)', () => {
  const [p] = parseParagraphs('SHA256:\n abc 1 main/x\n def 2 main/y\n');
  assert.is(p!.get('SHA256'), '\n abc 1 main/x\n def 2 main/y');
});

test('values are trimmed; colons after the first belong to the value', () => {
  const [p] = parseParagraphs('Homepage:   http://example.test:8080/x  \nEmpty:\n');
  assert.is(p!.get('Homepage'), 'http://example.test:8080/x');
  assert.is(p!.get('Empty'), '');
  assert.ok(p!.has('Empty'));
});

test('CRLF line endings', () => {
  const ps = parseParagraphs('Package: a\r\nDescription: d\r\n more\r\n\r\nPackage: b\r\n');
  assert.is(ps.length, 2);
  assert.is(ps[0]!.get('Package'), 'a');
  assert.is(ps[0]!.get('Description'), 'd\n more');
  assert.is(ps[1]!.get('Package'), 'b');
  for (const p of ps) for (const f of p.fields) assert.not.ok(f.value.includes('\r'), `${f.name} keeps a CR`);
});

test('comments are skipped outside paragraphs', () => {
  const ps = parseParagraphs('# header comment\nA: 1\n\n# between\n# two lines\nA: 2\n');
  assert.equal(ps.map((p) => p.get('A')), ['1', '2']);
  assert.equal(ps.map((p) => p.fields.length), [1, 1]);
});

test('field lookups are case-insensitive; names keep their case', () => {
  const [p] = parseParagraphs('Pre-Depends: libc6\nMULTI-ARCH: same\n');
  for (const name of ['Pre-Depends', 'pre-depends', 'PRE-DEPENDS', 'pRe-DePeNdS']) assert.is(p!.get(name), 'libc6');
  assert.is(p!.get('multi-arch'), 'same');
  assert.ok(p!.has('pre-depends'));
  assert.not.ok(p!.has('Depends'));
  assert.is(p!.get('Depends'), undefined);
  assert.equal(p!.fields.map((f) => f.name), ['Pre-Depends', 'MULTI-ARCH']);
});

test('the wanted filter keeps only the named (lower-case) fields, continuation lines included', () => {
  const text = 'Package: a\nDescription: d\n long\n more\nVersion: 1\nTag: x,\n y\n\nPackage: b\nVersion: 2\n';
  const ps = parseParagraphs(text, 'test', new Set(['package', 'version', 'tag']));
  assert.is(ps.length, 2);
  assert.equal(fieldsOf(ps[0]!), [['Package', 'a'], ['Version', '1'], ['Tag', 'x,\n y']]);
  assert.equal(fieldsOf(ps[1]!), [['Package', 'b'], ['Version', '2']]);
  assert.is(ps[0]!.get('Description'), undefined);
});

test('a paragraph with no wanted field still counts as a paragraph', () => {
  const ps = parseParagraphs('Description: x\n\nPackage: b\n', 'test', new Set(['package']));
  assert.is(ps.length, 2);
  assert.is(ps[0]!.fields.length, 0);
  assert.is(ps[1]!.get('Package'), 'b');
});

test('a line without a colon is a ControlSyntaxError naming source and line', () => {
  try {
    parseParagraphs('A: 1\nB: 2\nno colon here\n', 'my-source');
    assert.unreachable('should throw');
  } catch (error) {
    assert.instance(error, ControlSyntaxError);
    assert.instance(error, RootstrapError);
    const e = error as ControlSyntaxError;
    assert.is(e.code, 'control-syntax');
    assert.is(e.kind, 'verify');
    assert.match(e.message, 'my-source');
    assert.match(e.message, 'line 3');
  }
});

test('a line starting with a colon (empty field name) is a syntax error', () => {
  assert.throws(() => parseParagraphs(': value\n'), (e: unknown) => e instanceof ControlSyntaxError);
});

const CONTINUATION_WITHOUT_FIELD = [' leading space\n', '\tleading tab\n', 'A: 1\n\n continuation after a blank line\n'];
for (const text of CONTINUATION_WITHOUT_FIELD) {
  test(`continuation without a field is a ControlSyntaxError: ${JSON.stringify(text)}`, () => {
    try {
      parseParagraphs(text, 'src');
      assert.unreachable('should throw');
    } catch (error) {
      assert.instance(error, ControlSyntaxError);
      assert.match((error as Error).message, 'continuation line without a field');
    }
  });
}

test('a comment after a field is not a comment (no colon): syntax error', () => {
  assert.throws(() => parseParagraphs('A: 1\n# inside\n'), (e: unknown) => e instanceof ControlSyntaxError);
});

test('parseSingleParagraph returns the only paragraph', () => {
  const p = parseSingleParagraph('Package: x\nVersion: 1\n\n\n', 'ctl');
  assert.is(p.get('package'), 'x');
});

for (const [text, count] of [['', 0], ['\n\n', 0], ['A: 1\n\nA: 2\n', 2]] as const) {
  test(`parseSingleParagraph refuses ${count} paragraphs`, () => {
    try {
      parseSingleParagraph(text, 'DEBIAN/control');
      assert.unreachable('should throw');
    } catch (error) {
      assert.instance(error, ControlSyntaxError);
      assert.match((error as Error).message, `got ${count}`);
      assert.match((error as Error).message, 'DEBIAN/control');
    }
  });
}

test('formatParagraph writes fields back; parse(format(x)) round-trips', () => {
  const text = 'Package: a\nDescription: short\n long one\n .\n long two\nSHA256:\n abc 1 x\n def 2 y\nEmpty: \n';
  const [p] = parseParagraphs(text);
  const out = formatParagraph(p!.fields);
  assert.is(out, 'Package: a\nDescription: short\n long one\n .\n long two\nSHA256:\n abc 1 x\n def 2 y\nEmpty: \n');
  const [again] = parseParagraphs(out);
  assert.equal(again!.fields, p!.fields);
});

test('formatParagraph of no fields is empty', () => {
  assert.is(formatParagraph([]), '');
});

test('Paragraph.add: a later field of the same name wins in lookups, both kept in fields', () => {
  const p = new Paragraph();
  p.add('A', '1');
  p.add('a', '2');
  assert.is(p.get('A'), '2');
  assert.is(p.fields.length, 2);
});

test.run();
