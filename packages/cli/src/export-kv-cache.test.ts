// `attend export --kv-cache shared` through the built CLI: the folder gains
// onnx/model_shared_cache.onnx (its parity is part of the printed figure), `attend generate` and
// `attend serve`'s engine run it on cpu and say so in their runtime, with the standard folder's
// text (greedy, seeded sampling, beam search); on --device wasm the standard graph generates
// the same text; with --quantize int8-dynamic or int4 both graphs are quantized alike and
// generate the same text; `attend bench`'s rows say where it generates; --overwrite without it drops the
// earlier in-place graph; combinations the in-place graph cannot serve (--target triton among
// them) are usage errors (exit 2, one line) that write nothing.

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openEngine } from './serve/engine.js';
import { tinyExport } from './test-utils/tiny-export.js';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
let dir: string;
let shared: string;

const attend = (args: string[]) => spawnSync(process.execPath, [BIN, ...args], { encoding: 'utf8' });

beforeAll(async () => {
  await stat(BIN);
  dir = await mkdtemp(join(tmpdir(), 'attend-kv-cache-'));
  await tinyExport(dir, 'decoder-lm', 3);
  await tinyExport(dir, 'encoder-classifier', 3);
  shared = join(dir, 'shared');
  const r = attend(['export', join(dir, 'decoder-lm-ckpt'), '--out', shared, '--kv-cache', 'shared']);
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  expect(r.stdout).toContain('(+ in-place KV cache graph)');
  expect(r.stdout).toContain('model_shared_cache.onnx');
  const m = /max \|tfjs − onnxruntime-node\| logit = (\S+)/.exec(r.stdout);
  expect(Number(m?.[1])).toBeLessThanOrEqual(1e-4);
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** `attend generate --json` on `folder`: the runtime it reports and the generated texts. */
function generated(folder: string, args: string[]): { runtime: string; outputs: string[] } {
  const r = attend(['generate', folder, 'the cat', 'a dog sat', '--max-new-tokens', '12', '--json', ...args]);
  expect(r.status, r.stderr).toBe(0);
  const json = JSON.parse(r.stdout) as { runtime: string; results: { output: string }[] };
  return { runtime: json.runtime, outputs: json.results.map((x) => x.output) };
}

describe('attend export --kv-cache shared', () => {
  it('writes the in-place graph beside onnx/model.onnx, listed in config.json', async () => {
    expect((await readdir(join(shared, 'onnx'))).sort()).toEqual(['model.onnx', 'model_shared_cache.onnx']);
    const config = JSON.parse(await readFile(join(shared, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config.attend_graphs).toEqual({ 'decoder-shared-cache': 'onnx/model_shared_cache.onnx' });
    expect(await readFile(join(shared, 'onnx', 'model.onnx'))).toEqual(await readFile(join(dir, 'decoder-lm', 'onnx', 'model.onnx')));
  });

  for (const [name, args] of [
    ['greedy', []],
    ['sampling with a seed', ['--sample', '--seed', '9', '--temperature', '1.4']],
    ['beam search', ['--beam', '3']],
  ] as const) {
    it(`generate runs the in-place graph on cpu and the standard graph on wasm, with the standard folder's text: ${name}`, () => {
      const standard = generated(join(dir, 'decoder-lm'), [...args]);
      const inPlace = generated(shared, [...args]);
      expect(standard.runtime).toBe('onnxruntime-node (cpu; KV cache onnx/model.onnx)');
      expect(inPlace.runtime).toBe('onnxruntime-node (cpu; KV cache onnx/model_shared_cache.onnx (in place))');
      expect(inPlace.outputs).toEqual(standard.outputs);
      expect(inPlace.outputs.join('')).not.toBe('');
      if (name !== 'greedy') return;
      const wasm = generated(shared, ['--device', 'wasm']);
      expect(wasm.runtime).toBe('onnxruntime-web (wasm; KV cache onnx/model.onnx)');
      expect(wasm.outputs).toEqual(standard.outputs);
    });
  }

  it("serve's engine generates with the in-place graph and the standard folder's text", async () => {
    const engines = [await openEngine(shared), await openEngine(join(dir, 'decoder-lm'))];
    try {
      expect(engines[0]!.runtime).toContain('model_shared_cache.onnx (in place)');
      const [a, b] = await Promise.all(engines.map((e) => e.runDecode!([{ ids: e.encode('the cat'), maxNewTokens: 10, strategy: { kind: 'greedy' } }, { ids: e.encode('a dog'), maxNewTokens: 10, strategy: { kind: 'greedy' } }], () => true)));
      expect(a).toEqual(b);
    } finally {
      for (const e of engines) await e.close();
    }
  });

  it('--overwrite with the standard cache alone drops the earlier in-place graph and its listing', async () => {
    const out = join(dir, 'overwritten');
    expect(attend(['export', join(dir, 'decoder-lm-ckpt'), '--out', out, '--kv-cache', 'shared']).status).toBe(0);
    const r = attend(['export', join(dir, 'decoder-lm-ckpt'), '--out', out, '--overwrite']);
    expect(r.status, r.stderr).toBe(0);
    expect(await readdir(join(out, 'onnx'))).toEqual(['model.onnx']);
    expect((JSON.parse(await readFile(join(out, 'config.json'), 'utf8')) as Record<string, unknown>).attend_graphs).toBeUndefined();
    expect(generated(out, []).runtime).toBe('onnxruntime-node (cpu; KV cache onnx/model.onnx)');
  });

  it('--quantize int8-dynamic / int4 quantize both graphs alike: the in-place graph generates the quantized standard graph’s text', async () => {
    // Wide enough (dModel 64) that the Linear weights are over the quantizer's 1024-value floor.
    await tinyExport(dir, 'decoder-lm', 4, { name: 'wide', size: { dModel: 64, dFf: 128 } });
    const ckpt = join(dir, 'wide-ckpt');
    const quantized = async (file: string) => Number(/"tensors":(\d+)/.exec((await readFile(file)).toString('latin1'))?.[1] ?? 0);
    for (const scheme of ['int8-dynamic', 'int4']) {
      const out = join(dir, `shared-${scheme}`);
      const plain = join(dir, `plain-${scheme}`);
      const r = attend(['export', ckpt, '--out', out, '--kv-cache', 'shared', '--quantize', scheme]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toContain(`(+ in-place KV cache graph) (${scheme} weights)`);
      expect(attend(['export', ckpt, '--out', plain, '--quantize', scheme]).status).toBe(0);
      expect(await readFile(join(out, 'onnx', 'model.onnx'))).toEqual(await readFile(join(plain, 'onnx', 'model.onnx')));
      const shared = join(out, 'onnx', 'model_shared_cache.onnx');
      expect((await readFile(shared)).toString('latin1')).toContain(scheme === 'int4' ? 'MatMulNBits' : 'DynamicQuantizeMatMul');
      // Every Linear weight: the standard graph's q, k, v, out and two feed-forward weights (the in-place graph packs q, k, v into one), and the tied head.
      expect([await quantized(join(plain, 'onnx', 'model.onnx')), await quantized(shared)]).toEqual([7, 5]);
      const texts: string[] = [];
      for (const args of [[], ['--sample', '--seed', '3']]) {
        const inPlace = generated(out, args);
        expect(inPlace.runtime).toContain('model_shared_cache.onnx (in place)');
        expect(inPlace.outputs, `${scheme} ${args.join(' ')}`).toEqual(generated(plain, args).outputs);
        texts.push(...inPlace.outputs);
      }
      expect(new Set(texts.join('')).size).toBeGreaterThan(3); // varied text, not one repeated letter
      // --fp32-head keeps the tied head float32: the Linear weights alone are quantized.
      const kept = join(dir, `kept-${scheme}`);
      expect(attend(['export', ckpt, '--out', kept, '--kv-cache', 'shared', '--quantize', scheme, '--fp32-head']).status).toBe(0);
      expect([await quantized(join(kept, 'onnx', 'model.onnx')), await quantized(join(kept, 'onnx', 'model_shared_cache.onnx'))]).toEqual([6, 4]);
    }
    // --int4-block sets MatMulNBits' block size (the quantization metadata names it).
    const blocks = join(dir, 'int4-block-128');
    expect(attend(['export', ckpt, '--out', blocks, '--quantize', 'int4', '--int4-block', '128']).status).toBe(0);
    expect((await readFile(join(blocks, 'onnx', 'model.onnx'))).toString('latin1')).toContain('int4 weights in blocks of 128');
    const refusals: [string[], string][] = [
      [['--fp32-head'], '--fp32-head: '],
      [['--int4-block', '128'], '--int4-block: '],
      [['--quantize', 'int8-dynamic', '--int4-block', '128'], '--int4-block: '],
      [['--quantize', 'int4', '--int4-block', '48'], '--int4-block: "48" is not supported'],
    ];
    for (const [flags, message] of refusals) {
      const out = join(dir, 'refused');
      const refused = attend(['export', ckpt, '--out', out, ...flags]);
      expect(refused.status, flags.join(' ')).toBe(2);
      expect(refused.stderr.trim().split('\n')).toEqual([expect.stringContaining(message)]);
      expect(existsSync(out)).toBe(false);
    }
  });

  it("bench's rows name the in-place KV cache where it generates (cpu), not on wasm", () => {
    const r = attend(['bench', shared, '--json', '--seconds', '0.05', '--tokens', '4']);
    expect(r.status, r.stderr).toBe(0);
    const rows = (JSON.parse(r.stdout) as { rows: { runtime: string; kvCache?: string; decodeMsPerToken?: number }[] }).rows;
    expect(rows.map((x) => [x.runtime, x.kvCache])).toEqual([
      ['onnxruntime-node cpu, 1 thread (in-place KV cache)', 'onnx/model_shared_cache.onnx'],
      ['onnxruntime-node cpu, 2 threads (in-place KV cache)', 'onnx/model_shared_cache.onnx'],
      ['onnxruntime-web wasm', 'onnx/model.onnx'],
    ]);
    for (const row of rows) expect(row.decodeMsPerToken).toBeGreaterThan(0);
  });

  it('refuses what the in-place graph cannot serve (exit 2, one line, nothing written)', async () => {
    const cases: [string[], string][] = [
      [['--with-attention'], '--kv-cache shared: the in-place cache graph has no attention weights'],
      [['--format', 'hf'], 'it takes no --with-attention, --format hf or --adapter-only'],
      [['--target', 'triton'], '--kv-cache shared: Triton gives the model separate input and output tensors on every request'],
    ];
    for (const [extra, message] of cases) {
      const out = join(dir, `refused-${extra[0]!.slice(2)}`);
      const r = attend(['export', join(dir, 'decoder-lm-ckpt'), '--out', out, '--kv-cache', 'shared', ...extra]);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(message);
      await expect(stat(out)).rejects.toThrow();
    }
    const out = join(dir, 'refused-classifier');
    const r = attend(['export', join(dir, 'encoder-classifier-ckpt'), '--out', out, '--kv-cache', 'shared']);
    expect(r.status, r.stderr).toBe(2);
    expect(r.stderr).toBe("attend: --kv-cache shared: kvCache: 'shared' writes a decoder-lm's in-place cache graph; a 'encoder-classifier' export has none\n");
    await expect(stat(out)).rejects.toThrow();
    const bad = attend(['export', join(dir, 'decoder-lm-ckpt'), '--out', join(dir, 'refused-value'), '--kv-cache', 'inplace']);
    expect(bad.status).toBe(2);
  });
});
