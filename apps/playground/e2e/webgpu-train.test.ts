// In-page training on tfjs's WebGPU backend, against its wasm backend, in Debian's chromium with
// the software WebGPU adapter (SwiftShader, as in webgpu.test.ts), the built app served from
// 127.0.0.1. The page's backend choice 'auto' must pick WebGPU when an adapter exists; the same
// run (same seed, data and request, dropout 0) on wasm must give the same loss at every step
// within float32 tolerance, and the run must have stayed on webgpu to the end (tf.getBackend()).
// No timings: the adapter is software. Without the adapter the tests skip with the reason.
// Needs `npm run build` first (turbo does it).

import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CHROMIUM, openWebGpuPage, type WebGpuPage } from './webgpu-page.js';

const app = dirname(dirname(fileURLToPath(import.meta.url)));
const dist = join(app, 'dist');
/** SwiftShader compiles every shader on the CPU: a first WebGPU run takes tens of seconds. */
const SLOW = 300_000;
/** A few steps of the page's smallest useful model (the form's fields). */
const RUN = { task: 'copy', steps: '6', dmodel: '16', heads: '2', layers: '1', maxlen: '5' } as const;
/**
 * Largest relative difference of a step's loss between the backends. Both compute in float32 with
 * different kernels (reduction orders, exp/log), about 1e-7–1e-6 relative per op; the loss at step
 * k also carries the k − 1 AdamW updates before it, each ≈ lr·sign(g) early on, which can carry a
 * rounding difference of a gradient near 0 into a whole lr-sized step of one weight. Measured here:
 * 4.3e-7 at most over the 6 steps. A wrong kernel gives far more: tfjs-webgpu's AddN over the 47
 * gradient norms (the bug clipByGlobalNorm now avoids) made step 2's loss 3.4% off.
 */
const TOLERANCE = 1e-3;

const skipAll = !existsSync(CHROMIUM) ? `${CHROMIUM} is missing (apt-get install -y chromium)` : !existsSync(join(dist, 'index.html')) ? `${dist} holds no built app; run the app's build first` : '';

let browser: WebGpuPage | undefined;
let page: Page;
let pageErrors: string[] = [];
/** Why WebGPU cannot be tested here, or '' when it can. */
let unavailable = skipAll;

beforeAll(async () => {
  if (skipAll) return;
  browser = await openWebGpuPage(app);
  ({ page, pageErrors, unavailable } = browser);
  await page.waitForSelector('body[data-model="ready"]', { timeout: SLOW });
}, SLOW);

afterAll(async () => {
  await browser?.close();
});

interface PageRun {
  /** The status line. */
  status: string;
  /** The backend the worker reported at the end of the run. */
  backend: string;
  losses: number[];
}

/** Trains RUN in the page on the form's `backend` choice and waits until its export is loaded. */
async function trainInPage(backend: 'auto' | 'wasm'): Promise<PageRun> {
  await page.selectOption('#train-backend', backend);
  await page.selectOption('#train-task', RUN.task);
  for (const [id, value] of [['train-steps', RUN.steps], ['train-dmodel', RUN.dmodel], ['train-heads', RUN.heads], ['train-layers', RUN.layers], ['train-maxlen', RUN.maxlen]] as const) await page.fill(`#${id}`, value);
  await page.click('#train-button');
  await page.waitForSelector('body[data-train="done"], #train-error:not([hidden])', { timeout: SLOW });
  const error = await page.textContent('#train-error');
  if (error) throw new Error(`in-page training on ${backend} failed: ${error}`);
  await page.waitForFunction(() => document.querySelector('#model-status')?.textContent?.startsWith('Loaded trained-copy/'), undefined, { timeout: SLOW });
  const status = (await page.textContent('#train-status'))!;
  const backendName = (await page.getAttribute('#train-status', 'data-backend'))!;
  const losses = (await page.getAttribute('#train-status', 'data-losses'))!.split(' ').map(Number);
  return { status, backend: backendName, losses };
}

describe('in-page training on WebGPU (SwiftShader) in chromium', () => {
  it("trains on tfjs's WebGPU backend when the page's choice is auto, with wasm's loss at every step", async ({ skip }) => {
    if (unavailable) skip(unavailable);
    const webgpu = await trainInPage('auto');
    expect(webgpu.backend).toBe('webgpu');
    expect(webgpu.status).toMatch(/^tfjs backend webgpu · .* step 6\/6, loss [\d.]+.* exported to ONNX in the page$/);
    expect(webgpu.status).not.toContain('failed');
    const wasm = await trainInPage('wasm');
    expect(wasm.backend).toBe('wasm');
    expect(wasm.status).toMatch(/^tfjs backend wasm · /);
    expect(webgpu.losses).toHaveLength(6);
    expect(wasm.losses).toHaveLength(6);
    const relative = wasm.losses.map((loss, k) => Math.abs(webgpu.losses[k]! - loss) / loss);
    console.log(`webgpu vs wasm losses: ${wasm.losses.map((l, k) => `${l.toFixed(6)}/${webgpu.losses[k]!.toFixed(6)}`).join(' ')}; largest relative difference ${Math.max(...relative).toExponential(2)}`);
    for (const [k, r] of relative.entries()) expect(r, `step ${k + 1}: wasm ${wasm.losses[k]}, webgpu ${webgpu.losses[k]}`).toBeLessThanOrEqual(TOLERANCE);
    // The losses moved (a run that did not train would agree trivially).
    expect(Math.abs(wasm.losses[5]! - wasm.losses[0]!)).toBeGreaterThan(10 * TOLERANCE * wasm.losses[0]!);
    expect(pageErrors).toEqual([]);
  }, 2 * SLOW);
});
