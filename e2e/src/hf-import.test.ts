// `attend import` against PyTorch: small random Hugging Face checkpoints written by
// e2e/hf-reference/hf_reference.py (safetensors by hand, the layouts transformers writes) are
// imported with the CLI; the checkpoint's logits under tfjs, and under onnxruntime-node and
// onnxruntime-web after export, equal the script's PyTorch reference (float64, written from
// modeling_gpt2.py / modeling_bert.py) to 1e-4 on right-padded batches. Needs python3 with torch
// (Debian's python3-torch; scripts/ensure-test-deps.sh installs it): skipped, saying so, without.
// Then the commands on imported models: with a tokenizer.json attend reads (attend's own, as in
// a folder attend wrote), `generate` and `infer` run on the checkpoint and on its export alike,
// and every other tool takes them: export with attention outputs and int8 weights, attention
// maps of every layer and head, eval, bench, inspect and serve.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile, rm as remove, writeFile } from 'node:fs/promises';
import { BpeTokenizer, saveTokenizerJSON, WordTokenizer, type Tokenizer } from '@attend/core';
import { readCheckpointFolder } from '@attend/core/node';
import { loadCheckpoint, setupBackend } from '@attend/transformer';
import { asSession, exportCheckpointFiles, ImageClassifierSession, textModelSession } from '@attend/runtime-onnx';
import { createOnnxModel as createNodeModel } from '@attend/runtime-onnx/node';
import { createOnnxModel as createWebModel } from '@attend/runtime-onnx/web';
import { attend, BIN, flat, python, torchMissing as missingTorch } from './hf-reference.js';

const TOLERANCE = 1e-4;
const torchMissing = missingTorch('hf-import.test.ts');

/** Largest |a − b| over the valid positions of each row: logits [rows][T][V] (LM) or [rows][C]. */
function maxDiff(got: { data: ArrayLike<number>; dims: readonly number[] }, reference: unknown[], lengths: number[], lm: boolean): number {
  let worst = 0;
  reference.forEach((row, b) => {
    const ref = flat(row);
    const [, T = 1, V = got.dims[1]!] = lm ? got.dims : [0, 1, got.dims[1]];
    const start = lm ? b * T * V : b * got.dims[1]!;
    const count = lm ? lengths[b]! * V : got.dims[1]!;
    expect(ref.length).toBe(count);
    for (let i = 0; i < count; i++) worst = Math.max(worst, Math.abs(got.data[start + i]! - ref[i]!));
  });
  return worst;
}

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attend-hf-import-'));
  await setupBackend();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const CASES = [
  { name: 'gpt2, no base prefix, with the attn.bias buffers', kind: 'gpt2', flags: ['--no-prefix'], rows: [[5, 17, 200, 3, 264, 9, 1], [40, 41, 42]] },
  { name: 'gpt2, transformer. prefix, 3 shards', kind: 'gpt2', flags: ['--shards', '3', '--seed', '4'], rows: [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24], [7]] },
  { name: 'bert classifier, bert. prefix', kind: 'bert-cls', flags: ['--seed', '2'], rows: [[2, 5, 7, 9, 10, 5, 11, 3], [2, 12, 14, 3]] },
  { name: 'bert classifier, old gamma/beta names, 2 shards', kind: 'bert-cls', flags: ['--old-norm-names', '--shards', '2', '--seed', '3'], rows: [[2, 26, 17, 19, 12, 3], [2, 8, 20, 3], [2, 3]] },
] as const;

describe.skipIf(torchMissing)('attend import: logits equal the PyTorch reference', () => {
  it.each(CASES)('$name: tfjs, onnxruntime-node and onnxruntime-web within 1e-4', async (c) => {
    const hf = join(dir, `${c.kind}-${c.flags.join('')}`);
    const ckpt = `${hf}-attend`;
    await python(['make', c.kind, hf, ...c.flags]);
    const imported = await attend(['import', hf, '--out', ckpt]);
    expect(imported.stderr).toBe('');
    expect(imported.code).toBe(0);
    expect(imported.stdout).toContain(c.kind === 'gpt2' ? ': decoder-lm checkpoint' : ': encoder-classifier checkpoint');

    const rows = c.rows.map((r) => [...r]);
    const reference = JSON.parse(await python(['logits', hf, JSON.stringify(rows)])) as unknown[];
    const lm = c.kind === 'gpt2';
    const B = rows.length;
    const T = Math.max(...rows.map((r) => r.length));
    const lengths = rows.map((r) => r.length);
    const ids = new Int32Array(B * T);
    const mask = new Int32Array(B * T);
    rows.forEach((r, b) => r.forEach((id, t) => ((ids[b * T + t] = id), (mask[b * T + t] = 1))));

    const { model } = await loadCheckpoint(ckpt);
    const result = model.forward({ ids, batchSize: B, seqLen: T, lengths: Int32Array.from(lengths) });
    const tfjs = { data: result.logits.dataSync(), dims: result.logits.shape };
    result.logits.dispose();
    model.dispose();
    expect(maxDiff(tfjs, reference, lengths, lm), 'tfjs').toBeLessThanOrEqual(TOLERANCE);

    const graph = exportCheckpointFiles(await readCheckpointFolder(ckpt), { dir: ckpt });
    for (const [runtime, session] of [['node', await createNodeModel(graph)], ['web', await createWebModel(graph, { numThreads: 1 })]] as const) {
      const out = await textModelSession(session).run({ inputIds: { data: ids, batchSize: B, seqLen: T }, attentionMask: { data: mask, batchSize: B, seqLen: T } });
      expect(maxDiff(out.logits, reference, lengths, lm), runtime).toBeLessThanOrEqual(TOLERANCE);
    }
  }, 120_000);
});

describe.skipIf(torchMissing)('attend import of a ViT: logits equal the PyTorch reference', () => {
  it.each([
    { name: 'ViTForImageClassification, vit. prefix', flags: ['--seed', '8'] },
    { name: 'no prefix, 2 shards, 16×16 images in 4×4 patches, 1 channel', flags: ['--no-prefix', '--shards', '2', '--image', '16,4,1', '--seed', '9'] },
  ])('$name: tfjs, onnxruntime-node and onnxruntime-web within 1e-4', async ({ flags }) => {
    const hf = join(dir, `vit-${flags.join('')}`);
    const ckpt = `${hf}-attend`;
    await python(['make', 'vit', hf, ...flags]);
    const imported = await attend(['import', hf, '--out', ckpt]);
    expect(imported.stderr).toBe('');
    expect(imported.code).toBe(0);
    expect(imported.stdout).toContain(': vit-classifier checkpoint');
    expect(imported.stdout).toContain('labels: cat, dog, bird');
    const config = JSON.parse(await readFile(join(hf, 'config.json'), 'utf8')) as { image_size: number; num_channels: number };
    const B = 3;
    const S = config.image_size;
    const C = config.num_channels;
    // pixel_values as the image processor leaves them: roughly in [-1, 1].
    const pixels = Float32Array.from({ length: B * C * S * S }, (_, i) => Math.sin(i * 0.37) * 0.9);
    const rows = Array.from({ length: B }, (_, b) => Array.from({ length: C }, (_, c) => Array.from({ length: S }, (_, y) => Array.from(pixels.subarray(((b * C + c) * S + y) * S, ((b * C + c) * S + y + 1) * S)))));
    const reference = JSON.parse(await python(['logits', hf, JSON.stringify(rows)])) as number[][];
    const lengths = new Array<number>(B).fill(1);

    const { model } = await loadCheckpoint(ckpt);
    const result = model.forward({ ids: new Int32Array(0), batchSize: B, seqLen: 0, pixels });
    const tfjs = { data: result.logits.dataSync(), dims: result.logits.shape };
    result.logits.dispose();
    model.dispose();
    expect(maxDiff(tfjs, reference, lengths, false), 'tfjs').toBeLessThanOrEqual(TOLERANCE);

    const graph = exportCheckpointFiles(await readCheckpointFolder(ckpt), { dir: ckpt });
    for (const [runtime, session] of [['node', await createNodeModel(graph)], ['web', await createWebModel(graph, { numThreads: 1 })]] as const) {
      const out = await asSession(session, ImageClassifierSession).runImages(pixels, B);
      expect(maxDiff(out.logits, reference, lengths, false), runtime).toBeLessThanOrEqual(TOLERANCE);
    }
  }, 120_000);

  it('ViTModel: the pooler left out and a fresh 2-label head, said in notes', async () => {
    const hf = join(dir, 'vit-base');
    await python(['make', 'vit-base', hf, '--seed', '10']);
    const imported = await attend(['import', hf, '--out', `${hf}-attend`]);
    expect(imported.code).toBe(0);
    expect(imported.stdout).toContain("note: ViTModel's pooler is left out");
    expect(imported.stdout).toContain('note: no classifier in the checkpoint: a fresh 2-label head');
    expect(imported.stdout).not.toContain('no tokenizer.json');
  }, 120_000);
});

const CORPUS = 'the cat sat on the mat . the dog sat on a log ! a good movie , a bad film ; it is not very good and it was bad to the end , said my old friend with one red hat';

/** Replaces the folder's tokenizer with attend's own of the model's vocabulary size, and the config's special ids with its. */
async function useAttendTokenizer(hf: string, tokenizer: Tokenizer): Promise<void> {
  const config = JSON.parse(await readFile(join(hf, 'config.json'), 'utf8')) as Record<string, unknown>;
  expect(tokenizer.vocabSize).toBe(config.vocab_size);
  const ids = tokenizer.specialTokenIds;
  await writeFile(join(hf, 'config.json'), JSON.stringify({ ...config, bos_token_id: ids.bos, eos_token_id: ids.eos, pad_token_id: ids.pad }));
  await writeFile(join(hf, 'tokenizer.json'), saveTokenizerJSON(tokenizer));
  for (const file of ['tokenizer_config.json', 'generation_config.json']) await remove(join(hf, file), { force: true });
}

describe.skipIf(torchMissing)('the commands on an imported model', () => {
  it('gpt2: generate gives the same greedy text from the checkpoint and from its export', async () => {
    const hf = join(dir, 'gpt2-generate');
    await python(['make', 'gpt2', hf, '--seed', '5']);
    await useAttendTokenizer(hf, BpeTokenizer.train(Array(20).fill(CORPUS), { vocabSize: 265 }));
    expect((await attend(['import', hf, '--out', `${hf}-ckpt`])).code).toBe(0);
    const exported = await attend(['export', `${hf}-ckpt`, '--out', `${hf}-onnx`]);
    expect(exported.stderr).toBe('');
    expect(exported.stdout).toMatch(/parity: max \|tfjs − onnxruntime-node\| logit = /);
    const fromCheckpoint = await attend(['generate', `${hf}-ckpt`, 'the cat', '--max-tokens', '8']);
    expect(fromCheckpoint.code).toBe(0);
    expect(fromCheckpoint.stdout.startsWith('the cat')).toBe(true);
    expect((await attend(['generate', `${hf}-onnx`, 'the cat', '--max-tokens', '8'])).stdout).toBe(fromCheckpoint.stdout);
  }, 120_000);

  it('bert: infer gives the same classes from the checkpoint and from its export', async () => {
    const hf = join(dir, 'bert-infer');
    await python(['make', 'bert-cls', hf, '--seed', '6']);
    await useAttendTokenizer(hf, WordTokenizer.fromCorpus([CORPUS], { maxVocab: 30 }));
    expect((await attend(['import', hf, '--out', `${hf}-ckpt`])).code).toBe(0);
    expect((await attend(['export', `${hf}-ckpt`, '--out', `${hf}-onnx`])).code).toBe(0);
    const texts = ['the cat sat on the mat', 'a bad film', 'it is not very good'];
    const fromCheckpoint = await attend(['infer', `${hf}-ckpt`, ...texts]);
    expect(fromCheckpoint.code).toBe(0);
    expect(fromCheckpoint.stdout.trim().split('\n')).toHaveLength(3);
    expect((await attend(['infer', `${hf}-onnx`, ...texts])).stdout).toBe(fromCheckpoint.stdout);
  }, 120_000);
});

/** Starts `attend serve FOLDER` on a free loopback port; resolves its URL and the child. */
function serve(folder: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [BIN, 'serve', folder, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let text = '';
    child.stdout!.on('data', (d: Buffer) => {
      text += d.toString();
      const m = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(text);
      if (m) resolve({ url: m[1]!, child });
    });
    child.on('close', () => reject(new Error(`attend serve exited: ${text}`)));
  });
}

async function post(url: string, body: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
}

describe.skipIf(torchMissing)('every tool on an imported model', () => {
  it.each([
    { kind: 'gpt2', layers: 2, heads: 4 },
    { kind: 'bert-cls', layers: 2, heads: 4 },
  ])('$kind: export (attention outputs, int8), attention maps per layer and head, eval, bench, inspect, serve', async ({ kind, layers, heads }) => {
    const lm = kind === 'gpt2';
    const hf = join(dir, `${kind}-tools`);
    await python(['make', kind, hf, '--seed', '7']);
    await useAttendTokenizer(hf, lm ? BpeTokenizer.train(Array(20).fill(CORPUS), { vocabSize: 265 }) : WordTokenizer.fromCorpus([CORPUS], { maxVocab: 30 }));
    const ckpt = `${hf}-ckpt`;
    expect((await attend(['import', hf, '--out', ckpt])).code).toBe(0);

    for (const [name, flags] of [['onnx', ['--with-attention']], ['int8', ['--quantize', 'int8']]] as const) {
      const r = await attend(['export', ckpt, '--out', `${hf}-${name}`, ...flags]);
      expect(r.stderr, name).toBe('');
      expect(r.code, name).toBe(0);
    }

    const input = 'the cat sat on the mat';
    for (const model of [ckpt, `${hf}-onnx`]) {
      const out = join(dir, `${kind}-maps-${model === ckpt ? 'ckpt' : 'onnx'}`);
      const r = await attend(['attention', model, input, '--out', out, '--quiet']);
      expect(r.stderr, model).toBe('');
      expect(r.code, model).toBe(0);
      // The self-attention figure has a panel for every layer and head.
      expect(await readdir(out)).toContain('attention-self.svg');
      const svg = await readFile(join(out, 'attention-self.svg'), 'utf8');
      const panels = new Set(svg.match(/layer \d+ · head \d+/g));
      expect(panels.size, [...panels].join(', ')).toBe(layers * heads);
    }

    const data = join(dir, `${kind}-eval.${lm ? 'txt' : 'csv'}`);
    await writeFile(data, lm ? `${CORPUS}\n${CORPUS}\n` : 'text,label\nthe cat sat on the mat,0\na bad film,1\nit is not very good,1\na good movie,0\n');
    for (const model of [ckpt, `${hf}-onnx`, `${hf}-int8`]) {
      const r = await attend(['eval', model, lm ? '--text' : '--csv', data, '--json']);
      expect(r.stderr, model).toBe('');
      expect(r.code, model).toBe(0);
      const metrics = JSON.parse(r.stdout) as Record<string, unknown>;
      expect(JSON.stringify(metrics), model).toMatch(lm ? /perplexity/ : /accuracy/);
    }

    const bench = await attend(['bench', `${hf}-onnx`, '--seconds', '0.1', '--json']);
    expect(bench.stderr).toBe('');
    expect(bench.code).toBe(0);
    expect(JSON.parse(bench.stdout)).toBeTypeOf('object');
    const inspect = await attend(['inspect', ckpt]);
    expect(inspect.code).toBe(0);
    expect(inspect.stdout).toContain(lm ? 'decoder-lm' : 'encoder-classifier');

    const { url, child } = await serve(`${hf}-onnx`);
    try {
      const r = lm ? await post(`${url}/v1/generate`, { prompt: 'the cat', maxNewTokens: 4 }) : await post(`${url}/v1/classify`, { text: input });
      expect(r.status, JSON.stringify(r.json)).toBe(200);
      const direct = await attend(lm ? ['generate', `${hf}-onnx`, 'the cat', '--max-new-tokens', '4'] : ['infer', `${hf}-onnx`, input, '--json']);
      if (lm) expect(`the cat${r.json.text as string}`).toBe(direct.stdout.trim());
      else {
        const row = (JSON.parse(direct.stdout) as { results: Array<{ output: number; probabilities: number[] }> }).results[0]!;
        expect(r.json.label).toBe(row.output);
        (r.json.probabilities as number[]).forEach((p, i) => expect(p).toBeCloseTo(row.probabilities[i]!, 5));
        // A sentence pair (the imported BERT has token types): infer --pair's probabilities.
        const paired = await post(`${url}/v1/classify`, { text: input, pair: 'the dog sat' });
        expect(paired.status, JSON.stringify(paired.json)).toBe(200);
        const inferred = await attend(['infer', `${hf}-onnx`, input, '--pair', 'the dog sat', '--json']);
        const pairRow = (JSON.parse(inferred.stdout) as { results: Array<{ output: number; probabilities: number[] }> }).results[0]!;
        expect(paired.json.label).toBe(pairRow.output);
        expect((paired.json.probabilities as number[]).map((p) => Number(p.toFixed(6)))).toEqual(pairRow.probabilities);
        expect(pairRow.probabilities).not.toEqual(row.probabilities);
      }
    } finally {
      child.kill('SIGTERM');
    }
  }, 240_000);
});
