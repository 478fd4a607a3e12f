// The decoder-lm's in-place KV cache on WebGPU in the playground, in a real browser: Debian's
// chromium with its software adapter (SwiftShader), the built app served from 127.0.0.1. A
// `--kv-cache shared` export loaded on WebGPU opens on onnxruntime-web's webgpu build with the
// shared-cache graph attached (the status line says "KV cache in GPU buffers"), and generates
// the same tokens, greedy and with seeded sampling, as the standard graph on WASM (the default
// build, where the shared-cache graph is not opened) and on the default build's WebGPU (the same
// folder without the graph). The webgpu build is fetched only for that folder. No timings: the adapter is software. When chromium gives no adapter
// or the WebGPU EP fails to start, the tests skip with the reason. Needs the app's build first.

import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tinyExport } from '../src/test-utils/fixtures.js';
import { demoOnWebGpu, loadFolder } from './webgpu-demo.js';

const app = dirname(dirname(fileURLToPath(import.meta.url)));
/** SwiftShader compiles every shader on the CPU. */
const SLOW = 300_000;
const SHARED_GRAPH = 'onnx/model_shared_cache.onnx';
/** A head size of 8 (GroupQueryAttention's multiple), room for 20 new tokens after the prompt. */
const FIELDS = { dModel: 16, numHeads: 2, dFf: 32, maxSeqLen: 24 } as const;

const demo = demoOnWebGpu(app, ['index.html', 'ort/ort-wasm-simd-threaded.asyncify.wasm'], SLOW);

/** Loads these folder files on `device` through the page's file picker; the status line. */
const load = (files: Record<string, Uint8Array>, device: 'wasm' | 'webgpu'): Promise<string> => loadFolder(demo.page, files, device, 'Loaded model: decoder-lm', SLOW);

/** Generated ids for `prompt` with greedy decoding, then with sampling at each seed. */
async function generations(prompt: string, seeds: number[]): Promise<string[]> {
  const run = async (): Promise<string> => {
    await demo.page.click('#run-button');
    await demo.page.waitForSelector('body[data-run="done"]', { timeout: SLOW });
    return (await demo.page.getAttribute('#output-text', 'data-ids'))!;
  };
  await demo.page.fill('#input-text', prompt);
  await demo.page.selectOption('#decode-strategy', 'greedy');
  const outputs = [await run()];
  await demo.page.selectOption('#decode-strategy', 'sample');
  await demo.page.fill('#decode-temperature', '2');
  for (const seed of seeds) {
    await demo.page.fill('#decode-seed', String(seed));
    outputs.push(await run());
  }
  await demo.page.selectOption('#decode-strategy', 'greedy');
  return outputs;
}

describe('the in-place KV cache on WebGPU (SwiftShader) in the playground', () => {
  it('runs a --kv-cache shared export with its cache in GPU buffers, token for token as the standard graph on WASM and on WebGPU', async ({ skip }) => {
    if (demo.unavailable) skip(demo.unavailable);
    // Seed 4 with the prompt 'bad' runs to maxSeqLen, greedy and sampled: every position of the buffers is written and read.
    const files = await tinyExport('decoder-lm', { kvCache: 'shared', withAttention: false, seed: 4, fields: FIELDS });
    const seeds = [1, 2, 3];
    /** The files of onnxruntime-web's webgpu build the page has fetched (its module chunk, its WASM loader and binary). */
    const webGpuBuild = () => demo.page.evaluate(() => performance.getEntriesByType('resource').map((e) => e.name).filter((url) => /ort\.webgpu|asyncify/.test(url)));
    expect(await webGpuBuild()).toEqual([]); // the demo on WebGPU runs on the default build

    const gpuStatus = await load(files, 'webgpu');
    expect((await webGpuBuild()).length).toBeGreaterThanOrEqual(2);
    expect(gpuStatus).toContain(` · KV cache in GPU buffers (${SHARED_GRAPH})`);
    const gpu = await generations('bad', seeds);

    const wasmStatus = await load(files, 'wasm');
    expect(wasmStatus).not.toContain('KV cache'); // the standard graph: wasm copies the shared graph's cache anyway
    const wasm = await generations('bad', seeds);

    const standard = Object.fromEntries(Object.entries(files).filter(([path]) => path !== SHARED_GRAPH));
    standard['config.json'] = new TextEncoder().encode(JSON.stringify({ ...JSON.parse(new TextDecoder().decode(files['config.json'])), attend_graphs: undefined }));
    expect(await load(standard, 'webgpu')).not.toContain('KV cache');
    const gpuStandard = await generations('bad', seeds);

    expect(gpu).toEqual(wasm);
    expect(gpuStandard).toEqual(wasm);
    const [greedy, ...sampled] = wasm;
    expect(greedy!.split(' ')).toHaveLength(FIELDS.maxSeqLen - 'bad'.length); // to the end of the context: the whole cache in use
    expect(new Set(sampled).size).toBeGreaterThan(1); // the seeds draw different tokens
    expect(demo.pageErrors).toEqual([]);
  }, SLOW);
});
