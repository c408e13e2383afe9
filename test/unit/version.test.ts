import { execFileSync } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { compareVersions, parseVersion, satisfiesVersion } from '../../src/formats/deb/version.js';

// [a, b, expected sign of compare(a, b)]
const CASES: Array<[string, string, -1 | 0 | 1]> = [
  ['1.0', '1.0', 0],
  ['1.0', '1.1', -1],
  ['1.10', '1.9', 1],
  ['1:0.1', '2.0', 1],
  ['0:1.0', '1.0', 0],
  ['1.0~rc1', '1.0', -1],
  ['1.0~rc1', '1.0~rc2', -1],
  ['1.0~~', '1.0~', -1],
  ['1.0~', '1.0', -1],
  ['1.0-1', '1.0-2', -1],
  ['1.0-1', '1.0', 1],
  ['1.0-0', '1.0', 0],
  ['2.36-9+deb12u4', '2.36-9', 1],
  ['2.36-9+deb12u10', '2.36-9+deb12u9', 1],
  ['1.0a', '1.0', 1],
  ['1.0a', '1.0+', -1],
  ['1.0+', '1.0.', -1],
  ['1.0.', '1.0', 1],
  ['1.001', '1.1', 0],
  ['1.0+dfsg', '1.0', 1],
  ['1:1.2.13.dfsg-1', '1:1.2.13-1', 1],
  ['7.6p2-4', '7.6-0', 1],
  ['1.2.3-1~bpo12+1', '1.2.3-1', -1],
  ['10:1', '9:99', 1],
  ['1.0-1ubuntu1', '1.0-1', 1],
  ['a', 'b', -1],
];

for (const [a, b, expected] of CASES) {
  test(`compareVersions(${a}, ${b}) = ${expected}`, () => {
    assert.is(compareVersions(a, b), expected);
    assert.is(compareVersions(b, a), (-expected || 0) as -1 | 0 | 1);
  });
}

test('the table agrees with dpkg --compare-versions', () => {
  for (const [a, b, expected] of CASES) {
    if (!/^[0-9]/.test(a.replace(/^\d+:/, '')) || !/^[0-9]/.test(b.replace(/^\d+:/, ''))) continue;
    const op = expected < 0 ? 'lt' : expected > 0 ? 'gt' : 'eq';
    execFileSync('dpkg', ['--compare-versions', a, op, b]);
  }
});

test('parseVersion splits epoch, upstream and revision', () => {
  assert.equal(parseVersion('1:2.3-4'), { epoch: 1, upstream: '2.3', revision: '4' });
  assert.equal(parseVersion('2.3'), { epoch: 0, upstream: '2.3', revision: '' });
  assert.equal(parseVersion('1.2-3-4'), { epoch: 0, upstream: '1.2-3', revision: '4' });
  assert.is(parseVersion('x1.0'), undefined);
  assert.is(parseVersion('a:1.0'), undefined);
  assert.is(parseVersion('1.0 2'), undefined);
});

test('satisfiesVersion implements all five relations', () => {
  assert.ok(satisfiesVersion('1.0', '<<', '1.1'));
  assert.not.ok(satisfiesVersion('1.1', '<<', '1.1'));
  assert.ok(satisfiesVersion('1.1', '<=', '1.1'));
  assert.ok(satisfiesVersion('1.1', '=', '1.1'));
  assert.not.ok(satisfiesVersion('1.1', '=', '1.1-1'));
  assert.ok(satisfiesVersion('1.1', '>=', '1.0'));
  assert.ok(satisfiesVersion('1.1', '>>', '1.0'));
  assert.not.ok(satisfiesVersion('1.0', '>>', '1.0'));
});

test.run();
