#!/usr/bin/env node
// Runs the uvu suites (TypeScript through tsx) and ends with one plain closing line, "N passed, N failed, N skipped".
import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const uvu = join(dirname(fileURLToPath(import.meta.url)), '..', 'node_modules', 'uvu', 'bin.js');
const args = process.argv.slice(2);
const child = spawn(process.execPath, ['--import', 'tsx', uvu, ...(args.length ? args : ['test'])], { stdio: ['ignore', 'pipe', 'inherit'] });
let tail = '';
child.stdout.on('data', (chunk) => {
  process.stdout.write(chunk);
  tail = (tail + chunk.toString()).slice(-4000);
});
child.on('close', (code, signal) => {
  const plain = tail.replace(/\x1b\[[0-9;]*m/g, '');
  const num = (label) => Number(new RegExp(`${label}:\\s+(\\d+)`).exec(plain)?.[1] ?? 'NaN');
  const total = num('Total');
  const passed = num('Passed');
  const skipped = num('Skipped');
  if (Number.isFinite(total) && Number.isFinite(passed)) {
    const failed = total - passed - (Number.isFinite(skipped) ? skipped : 0);
    process.stdout.write(`\n${passed} passed, ${failed} failed, ${Number.isFinite(skipped) ? skipped : 0} skipped\n`);
  }
  process.exit(code ?? (signal ? 1 : 0));
});
