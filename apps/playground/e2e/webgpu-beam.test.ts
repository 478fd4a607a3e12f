// Beam search over the decoder-lm's in-place KV cache in GPU buffers, in a real browser: Debian's
// chromium with its software WebGPU adapter (SwiftShader), on the built app's origin
// (127.0.0.1). The page has no beam search, so the test bundles beam-page.ts (the playground's
// own folder reading and session opening, then core's beam search over runtime-onnx's step
// function) with the app's vite config and runs it there: a `--kv-cache shared` folder on WebGPU
// opens on onnxruntime-web's webgpu build with its cache in GPU buffers, whose rows beam search
// copies on the device each time the beams' parents change (gpu-cache.ts). Beam 3 over one
// prompt and over two left-padded prompts must give, hypothesis for hypothesis, the ids and
// scores (within 1e-4) of the same folder on wasm in the page (the standard graph) and of its
// in-place graph on onnxruntime-node's CPU (CPU buffers, rows gathered in JavaScript). No
// timings: the adapter is software. When chromium gives no adapter the test skips with the
// reason. Needs the app's build first.

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { build } from 'vite';
import { CharTokenizer, lmPromptIds } from '@attend/core';
import { createOnnxModel, SharedCacheLmSession } from '@attend/runtime-onnx/node';
import { ALPHABET, tinyExport } from '../src/test-utils/fixtures.js';
import { beamOver, type BeamResult, type BeamRun } from './beam-page.js';
import { CHROMIUM, openWebGpuPage, type WebGpuPage } from './webgpu-page.js';

const app = dirname(dirname(fileURLToPath(import.meta.url)));
const dist = join(app, 'dist');
/** SwiftShader compiles every shader on the CPU. */
const SLOW = 300_000;
/** A head size of 8 (GroupQueryAttention's multiple), room for 21 new tokens after 'bad'. */
const FIELDS = { dModel: 16, numHeads: 2, dFf: 32, maxSeqLen: 24 } as const;
const BEAMS = 3;
/** Where the page gets the bundled beam-page.ts (routed by the test, not in the app's build). */
const BUNDLE = '/e2e-beam/';
const TOLERANCE = 1e-4;

if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing; install Debian's chromium (apt-get install -y chromium), as .ci/run does`);
if (!existsSync(join(dist, 'ort', 'ort-wasm-simd-threaded.asyncify.wasm'))) throw new Error(`${dist} holds no built app with the webgpu build's files; run the app's build first`);

let browser: WebGpuPage | undefined;

/** beam-page.ts and the chunks it imports, bundled with the app's vite config: file name → code. */
async function bundleBeamPage(): Promise<Map<string, string>> {
  const output = await build({
    configFile: join(app, 'vite.config.ts'),
    root: app,
    publicDir: false,
    logLevel: 'error', // not the app's known warning that core's file reading is left out of a browser bundle
    build: { write: false, minify: false, lib: { entry: join(app, 'e2e', 'beam-page.ts'), formats: ['es'], fileName: 'beam-page' } },
  });
  const chunks = (Array.isArray(output) ? output : [output]).flatMap((o) => ('output' in o ? o.output : []));
  return new Map(chunks.map((chunk) => [chunk.fileName, chunk.type === 'chunk' ? chunk.code : String(chunk.source)]));
}

beforeAll(async () => {
  const files = await bundleBeamPage();
  browser = await openWebGpuPage(app, {
    path: BUNDLE,
    prepare: (page) =>
      page.route(`**${BUNDLE}**`, (route) => {
        const name = new URL(route.request().url()).pathname.slice(BUNDLE.length);
        if (name === '') return route.fulfill({ contentType: 'text/html', body: '<!doctype html><title>beam</title>' });
        const code = files.get(name);
        return code === undefined ? route.fulfill({ status: 404 }) : route.fulfill({ contentType: 'text/javascript', body: code });
      }),
  });
}, SLOW);

afterAll(async () => {
  await browser?.close();
});

/** beamInPage in the page: the folder `files` opened on `device` as the playground opens it. */
function beamInPage(files: Record<string, Uint8Array>, device: 'wasm' | 'webgpu', prompts: number[][]): Promise<BeamRun> {
  const plain = Object.fromEntries(Object.entries(files).map(([path, bytes]) => [path, Array.from(bytes)]));
  return browser!.page.evaluate(
    async ({ url, plain, device, prompts, beams }) => {
      // A plain import() here would be rewritten by vitest's transform before the page sees it.
      const page = (await (new Function('url', 'return import(url)') as (url: string) => Promise<unknown>)(url)) as typeof import('./beam-page.js');
      return page.beamInPage(plain, device, prompts, beams, '/ort/');
    },
    { url: `${BUNDLE}beam-page.js`, plain, device, prompts, beams: BEAMS },
  );
}

/** Expects `got`'s hypotheses to be `want`'s: the same ids, scores and log-probabilities within TOLERANCE. */
function expectSameBeams(got: BeamResult, want: BeamResult, what: string): void {
  expect(got.hypotheses.map((row) => row.map((h) => h.ids)), what).toEqual(want.hypotheses.map((row) => row.map((h) => h.ids)));
  want.hypotheses.forEach((row, b) =>
    row.forEach((h, k) => {
      expect(Math.abs(got.hypotheses[b]![k]!.score - h.score), `${what}: prompt ${b}, hypothesis ${k}, score`).toBeLessThanOrEqual(TOLERANCE);
      expect(Math.abs(got.hypotheses[b]![k]!.logProb - h.logProb), `${what}: prompt ${b}, hypothesis ${k}, log p`).toBeLessThanOrEqual(TOLERANCE);
    }),
  );
}

describe('beam search over the in-place KV cache in GPU buffers (SwiftShader)', () => {
  it('gives the ids and scores of the wasm path and of onnxruntime-node’s CPU, beam 3, one prompt and two left-padded ones', async ({ skip }) => {
    if (browser!.unavailable) skip(browser!.unavailable);
    const files = await tinyExport('decoder-lm', { kvCache: 'shared', withAttention: false, seed: 4, fields: FIELDS });
    const tokenizer = CharTokenizer.fromAlphabet(ALPHABET);
    const ids = (text: string): number[] => lmPromptIds(tokenizer, tokenizer.specialTokenIds.bos, text);
    const cpu = await createOnnxModel(files['onnx/model_shared_cache.onnx']!);
    try {
      expect(cpu instanceof SharedCacheLmSession && cpu.inPlace).toBe(true);
      for (const prompts of [[ids('bad')], [ids('bad'), ids('fe')]]) {
        const what = `prompts ${JSON.stringify(prompts)}`;
        const gpu = await beamInPage(files, 'webgpu', prompts);
        expect(gpu.device).toBe('webgpu');
        expect(gpu.kvCache).toBe('KV cache in GPU buffers (beam/onnx/model_shared_cache.onnx)');
        const wasm = await beamInPage(files, 'wasm', prompts);
        expect(wasm.device).toBe('wasm');
        expect(wasm.kvCache).toBeUndefined(); // the standard graph
        const reference = await beamOver(cpu, prompts, BEAMS);
        expect(reference.hypotheses.map((row) => row.length)).toEqual(prompts.map(() => BEAMS));
        expect(reference.hypotheses.flat().every((h) => h.ids.length > 0)).toBe(true);
        for (const run of [gpu, wasm, reference]) expect(run.reorders, what).toBeGreaterThan(0); // beams swap rows: the cache is reordered
        expectSameBeams(gpu, wasm, `${what}, webgpu against wasm`);
        expectSameBeams(gpu, reference, `${what}, webgpu against onnxruntime-node cpu`);
      }
      expect(browser!.pageErrors).toEqual([]);
    } finally {
      await cpu.release();
    }
  }, SLOW);
});
