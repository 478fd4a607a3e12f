// `--device cuda` where CUDA cannot start (no GPU, or onnxruntime-node without its CUDA
// provider, as in CI): one line on stderr about the fallback to cpu, and nothing from
// onnxruntime-node's native logger. Where CUDA runs, stderr is empty. `--device-id 99` names a
// GPU that no machine here has, so the fallback is exercised on GPU machines too.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyExport } from './test-utils/tiny-export.js';
import { attend } from './test-utils/attend.js';

const FALLBACK = /^attend: --device cuda is unavailable \([^\n\u001b]+\); running on cpu\n$/;

/** Runs the CLI; `onStdout` sees the output so far and may signal the process. */

let dir: string;
let lm: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attend-device-'));
  lm = await tinyExport(dir, 'decoder-lm', 5);
}, 120_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('--device cuda without a usable GPU', () => {
  it('generate: the output of cpu, and one line on stderr about the fallback (none where CUDA runs)', async () => {
    const cpu = await attend(['generate', lm, 'ab', '--max-tokens', '4']);
    const cuda = await attend(['generate', lm, 'ab', '--max-tokens', '4', '--device', 'cuda']);
    expect(cuda.code).toBe(0);
    expect(cuda.stdout).toBe(cpu.stdout);
    if (cuda.stderr !== '') expect(cuda.stderr).toMatch(FALLBACK);
  });

  it('generate --device-id 99: exactly the one fallback line', async () => {
    const r = await attend(['generate', lm, 'ab', '--max-tokens', '4', '--device', 'cuda', '--device-id', '99']);
    expect(r.code).toBe(0);
    expect(r.stderr).toMatch(FALLBACK);
  });

  it('serve: says the fallback in its "serving" line, and nothing on stderr', async () => {
    let stopped = false;
    const r = await attend(['serve', lm, '--port', '0', '--device', 'cuda', '--device-id', '99'], { onStdout: (text, child) => {
      if (!stopped && text.includes('POST /v1/generate')) stopped = child.kill('SIGTERM'); // once: a second signal ends it at once
    } });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\(decoder-lm, onnxruntime-node \(cpu; cuda unavailable: [^\n]+\)\) on http/);
    expect(r.stderr).toBe('');
  });
});
