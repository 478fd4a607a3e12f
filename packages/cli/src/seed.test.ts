// Seeds are 32-bit (core's MAX_SEED): `--seed` outside [0, 2^32) is a usage error naming the
// flag, for every command that takes one, instead of training or sampling as seed mod 2^32.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const attend = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });

describe('--seed', () => {
  it.each([
    ['train', ['train', '--task', 'reverse', '--out', 'never-written']],
    ['generate', ['generate', 'no-such-model', 'ab', '--sample']],
    ['infer', ['infer', 'no-such-model', 'ab', '--sample']],
    ['quickstart', ['quickstart']],
  ])('%s refuses 2^32 + 1 (it would repeat seed 1) in one line, exit 2', (_name, args) => {
    const r = attend([...args, '--seed', String(2 ** 32 + 1)]);
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("attend: option '--seed <n>' argument '4294967297' is invalid. expected an integer from 0 to 4294967295 (2^32 - 1).\n");
    expect(r.stdout).toBe('');
  });

  it('takes 2^32 - 1, the largest seed', () => {
    const r = attend(['generate', 'no-such-model', 'ab', '--sample', '--seed', String(2 ** 32 - 1)]);
    expect(r.stderr).not.toContain('--seed');
    expect(r.stderr).toMatch(/no-such-model/);
  });
});
