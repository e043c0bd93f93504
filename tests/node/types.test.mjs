// The generated permission keys as types (examples/fleet/tessera.ts, from
// `tessera codegen ts`) through @tessera/web/session, @tessera/react and
// @tessera/vue's declarations: tests/types/good.ts compiles, and
// tests/types/misspelt.ts fails with exactly one error on each line that
// passes the misspelt key 'miner:rebot' (session.check, session.decision,
// React useCan, Vue useCan), each error naming it. One `tsc --noEmit` per
// config (tests/types/tsconfig.good.json, tsconfig.misspelt.json).

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';

import { root } from '../support/host.mjs';

const TSC = path.join(root, 'node_modules/.bin/tsc');
const TYPES = path.join(root, 'tests/types');
const MISSPELT = 'miner:rebot';

/** `tsc --noEmit -p config`: `{code, output}` (stdout and stderr together). */
async function tsc(config) {
  try {
    const { stdout, stderr } = await promisify(execFile)(
      TSC, ['--noEmit', '--pretty', 'false', '-p', path.join(TYPES, config)], { cwd: root, timeout: 60_000 });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    if (typeof err.code !== 'number') throw err;
    return { code: err.code, output: `${err.stdout}${err.stderr}` };
  }
}

test('good.ts compiles: typed session, React and Vue hooks with the generated keys', async () => {
  const { code, output } = await tsc('tsconfig.good.json');
  assert.equal(code, 0, `tsc failed on good.ts:\n${output}`);
  assert.equal(output.trim(), '');
});

test(`misspelt.ts fails once per line that passes '${MISSPELT}', and each error names it`, async () => {
  const source = readFileSync(path.join(TYPES, 'misspelt.ts'), 'utf8').split('\n');
  const expected = source
    .map((line, at) => ({ line: at + 1, text: line }))
    .filter(({ text }) => text.includes(`'${MISSPELT}'`) && !text.trimStart().startsWith('//'));
  const calls = ['session.check(', 'session.decision(', 'useReactCan<', 'useVueCan<'];
  assert.deepEqual(calls.map((call) => expected.filter(({ text }) => text.includes(call)).length), [1, 1, 1, 1],
    'misspelt.ts has one misspelt call of each kind');

  const { code, output } = await tsc('tsconfig.misspelt.json');
  assert.notEqual(code, 0, `tsc accepted misspelt.ts:\n${output}`);
  const errors = [...output.matchAll(/^(?:.*[\\/])?misspelt\.ts\((\d+),\d+\): error (TS\d+): (.*)$/gm)]
    .map(([, line, code, message]) => ({ line: Number(line), code, message }));
  const errorLines = output.split('\n').filter((line) => /error TS\d+/.test(line));
  assert.equal(errors.length, errorLines.length, `every error is in misspelt.ts:\n${output}`);
  assert.deepEqual(errors.map((error) => error.line), expected.map((e) => e.line), `one error per misspelt line:\n${output}`);
  for (const error of errors) assert.match(error.message, new RegExp(`"${MISSPELT}"`), `line ${error.line} names the key`);
});
