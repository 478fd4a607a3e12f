// WebGPU end to end in a real browser: Debian's chromium with its software WebGPU adapter
// (SwiftShader, `--use-webgpu-adapter=swiftshader`), the built app served from 127.0.0.1 (a secure
// context). The same models run on onnxruntime-web's WebGPU execution provider and on its WASM
// one in the page, and their outputs must agree: greedy ids for the demo (encoder-decoder with a
// KV cache) and a decoder-lm export, class probabilities within 1e-3 for an encoder-classifier
// and a vit-classifier export; and the `--optimize` graphs (com.microsoft MultiHeadAttention,
// RotaryEmbedding, FastGelu, BiasGelu) on WebGPU as on WASM and as the standard graph. No timings: the adapter is software. When chromium gives no
// adapter or onnxruntime-web's WebGPU EP fails to start, the tests skip with the reason.
// Needs `npm run build` first (turbo does it).

import { readdir, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadSeq2SeqFolder, translate } from '@attend/runtime-onnx/node';
import { tinyExport, tinyVitExport } from '../src/test-utils/fixtures.js';
import { demoOnWebGpu, loadFolder } from './webgpu-demo.js';

const app = dirname(dirname(fileURLToPath(import.meta.url)));
const dist = join(app, 'dist');
const INPUT = 'march 3rd, 2021';
/** SwiftShader compiles every shader on the CPU: the first WebGPU run of a model takes tens of seconds. */
const SLOW = 300_000;

const demo = demoOnWebGpu(app, ['index.html', 'demo/config.json'], SLOW);

/** Loads these folder files (path → bytes) on `device` through the page's file picker. */
const load = (files: Record<string, Uint8Array>, device: 'wasm' | 'webgpu', status: string): Promise<string> => loadFolder(demo.page, files, device, status, SLOW);

/** Runs the loaded text model on `text`; the output's data-ids (generators) or data-probabilities (classifiers). */
async function runText(text: string, attribute: 'data-ids' | 'data-probabilities'): Promise<string> {
  await demo.page.fill('#input-text', text);
  await demo.page.click('#run-button');
  await demo.page.waitForSelector('body[data-run="done"]', { timeout: SLOW });
  return (await demo.page.getAttribute('#output-text', attribute))!;
}

function probabilities(attribute: string): number[] {
  return attribute.split(' ').map(Number);
}

/** The files of the built demo folder, as the picker would get them. */
async function demoFiles(): Promise<Record<string, Uint8Array>> {
  const files: Record<string, Uint8Array> = {};
  for (const name of ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json']) files[name] = new Uint8Array(await readFile(join(dist, 'demo', name)));
  for (const name of await readdir(join(dist, 'demo', 'onnx'))) files[`onnx/${name}`] = new Uint8Array(await readFile(join(dist, 'demo', 'onnx', name)));
  return files;
}

describe('playground on WebGPU (SwiftShader) in chromium', () => {
  it('has a SwiftShader adapter and loads the demo on the WebGPU execution provider', ({ skip }) => {
    if (demo.unavailable) skip(demo.unavailable);
    expect(demo.unavailable).toBe('');
  });

  it('translates the demo on WebGPU as on WASM and as onnxruntime-node (greedy ids, KV-cache decoder)', async ({ skip }) => {
    if (demo.unavailable) skip(demo.unavailable);
    const { model, tokenizer } = await loadSeq2SeqFolder(join(dist, 'demo'));
    const ids = tokenizer.encode(INPUT);
    const [expected] = await translate(model, { ids, batchSize: 1, seqLen: ids.length }, { maxNewTokens: 47 });
    await Promise.all([model.encoder.release(), model.decoder.release()]);
    await expect(demo.page.textContent('#model-status')).resolves.toMatch(/^Loaded demo\/: .* · device webgpu · /);
    const webgpu = await runText(INPUT, 'data-ids');
    await expect(demo.page.textContent('#latency')).resolves.toMatch(/^webgpu · /);
    const files = await demoFiles();
    await load(files, 'wasm', 'Loaded model: encoder-decoder');
    const wasm = await runText(INPUT, 'data-ids');
    expect(webgpu).toBe(wasm);
    expect(wasm).toBe(expected!.join(' '));
    expect(expected!.length).toBeGreaterThan(5);
  }, SLOW);

  it('generates with a decoder-lm export on WebGPU as on WASM (greedy ids)', async ({ skip }) => {
    if (demo.unavailable) skip(demo.unavailable);
    const files = await tinyExport('decoder-lm');
    await load(files, 'wasm', 'Loaded model: decoder-lm');
    const wasm = await runText('bad', 'data-ids');
    await load(files, 'webgpu', 'Loaded model: decoder-lm');
    const webgpu = await runText('bad', 'data-ids');
    expect(wasm.split(' ').length).toBeGreaterThan(3);
    expect(webgpu).toBe(wasm);
  }, SLOW);

  it('runs the --optimize graphs (com.microsoft MultiHeadAttention, RotaryEmbedding, FastGelu, BiasGelu) on WebGPU as on WASM and as the standard graph', async ({ skip }) => {
    if (demo.unavailable) skip(demo.unavailable);
    const hasOps = (graph: Uint8Array | undefined, ops: string[]): string[] => ops.filter((op) => !Buffer.from(graph!).includes(op));
    // A RoPE language model with gelu_new: MultiHeadAttention over the KV cache, RotaryEmbedding, FastGelu.
    const fields = { positional: 'rope', activation: 'gelu_new' } as const;
    const optimized = await tinyExport('decoder-lm', { optimize: true, fields });
    expect(hasOps(optimized['onnx/model.onnx'], ['MultiHeadAttention', 'RotaryEmbedding', 'FastGelu', 'com.microsoft'])).toEqual([]);
    await load(optimized, 'wasm', 'Loaded model: decoder-lm');
    const wasm = await runText('bad', 'data-ids');
    await load(optimized, 'webgpu', 'Loaded model: decoder-lm');
    const webgpu = await runText('bad', 'data-ids');
    await expect(demo.page.textContent('#latency')).resolves.toMatch(/^webgpu · /);
    const standard = await tinyExport('decoder-lm', { withAttention: false, fields });
    expect(hasOps(standard['onnx/model.onnx'], ['MultiHeadAttention'])).toEqual(['MultiHeadAttention']);
    await load(standard, 'webgpu', 'Loaded model: decoder-lm');
    const webgpuStandard = await runText('bad', 'data-ids');
    expect(wasm.split(' ').length).toBeGreaterThan(3);
    expect(webgpu).toBe(wasm);
    expect(webgpuStandard).toBe(wasm);

    // A text classifier with gelu: MultiHeadAttention without a cache, BiasGelu.
    const text = await tinyExport('encoder-classifier', { optimize: true, fields: { activation: 'gelu' } });
    expect(hasOps(text['onnx/model.onnx'], ['MultiHeadAttention', 'BiasGelu'])).toEqual([]);
    await load(text, 'wasm', 'Loaded model: encoder-classifier');
    const pWasm = probabilities(await runText('fedcab', 'data-probabilities'));
    await load(text, 'webgpu', 'Loaded model: encoder-classifier');
    const pWebgpu = probabilities(await runText('fedcab', 'data-probabilities'));
    expect(Math.max(...pWasm) - Math.min(...pWasm)).toBeGreaterThan(1e-2);
    for (const [k, p] of pWasm.entries()) expect(Math.abs(pWebgpu[k]! - p), `class ${k}`).toBeLessThanOrEqual(1e-3);
    expect(demo.pageErrors).toEqual([]);
  }, SLOW);

  it('classifies text and images on WebGPU as on WASM (probabilities within 1e-3)', async ({ skip }) => {
    if (demo.unavailable) skip(demo.unavailable);
    const text = await tinyExport('encoder-classifier');
    await load(text, 'wasm', 'Loaded model: encoder-classifier');
    const wasm = probabilities(await runText('fedcab', 'data-probabilities'));
    await load(text, 'webgpu', 'Loaded model: encoder-classifier');
    const webgpu = probabilities(await runText('fedcab', 'data-probabilities'));
    expect(wasm).toHaveLength(3);
    expect(Math.max(...wasm) - Math.min(...wasm)).toBeGreaterThan(1e-2); // not a uniform answer
    for (const [k, p] of wasm.entries()) expect(Math.abs(webgpu[k]! - p), `class ${k}`).toBeLessThanOrEqual(1e-3);

    const image = await tinyVitExport();
    const classify = async (device: 'wasm' | 'webgpu'): Promise<{ pixels: string; p: number[] }> => {
      await load(image, device, 'Loaded model: vit-classifier');
      // A diagonal stroke over the 8×8 grid (28 px cells).
      const box = (await demo.page.locator('#image-canvas').boundingBox())!;
      await demo.page.mouse.move(box.x + 10, box.y + 10);
      await demo.page.mouse.down();
      for (let t = 10; t < 220; t += 14) await demo.page.mouse.move(box.x + t, box.y + t);
      await demo.page.mouse.up();
      await demo.page.click('#image-run');
      await demo.page.waitForSelector('body[data-run="done"]', { timeout: SLOW });
      return { pixels: (await demo.page.getAttribute('#image-canvas', 'data-pixels'))!, p: probabilities((await demo.page.getAttribute('#output-text', 'data-probabilities'))!) };
    };
    const imageWasm = await classify('wasm');
    const imageWebgpu = await classify('webgpu');
    expect(imageWebgpu.pixels).toBe(imageWasm.pixels);
    expect(imageWasm.p).toHaveLength(3);
    for (const [k, p] of imageWasm.p.entries()) expect(Math.abs(imageWebgpu.p[k]! - p), `class ${k}`).toBeLessThanOrEqual(1e-3);
    expect(demo.pageErrors).toEqual([]);
  }, SLOW);
});
