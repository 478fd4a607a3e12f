// What the WebGPU page tests of the playground's run section share: the built app opened on WebGPU
// in chromium for a whole test file (openDemoOnWebGpu before its tests, closed after them), and
// export folders loaded in it through the page's file picker.

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, expect } from 'vitest';
import { CHROMIUM, openDemoOnWebGpu, type WebGpuPage } from './webgpu-page.js';

/** The page of a test file, set once its beforeAll has run. */
export interface DemoOnWebGpu {
  page: Page;
  /** Messages of the page's uncaught errors. */
  pageErrors: string[];
  /** Why WebGPU cannot be tested here (no adapter, or the EP failed), or '' when it can. */
  unavailable: string;
}

/**
 * Throws unless chromium and the app's build (`builtFiles`, paths under its dist/) are there; then
 * opens the demo on WebGPU (waiting up to `timeout` ms) before the calling file's tests and closes
 * the browser after them. Read the returned object's fields inside the tests.
 */
export function demoOnWebGpu(app: string, builtFiles: string[], timeout: number): DemoOnWebGpu {
  const dist = join(app, 'dist');
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing; install Debian's chromium (apt-get install -y chromium), as .ci/run does`);
  const missing = builtFiles.filter((path) => !existsSync(join(dist, path)));
  if (missing.length > 0) throw new Error(`${dist} holds no built app (no ${missing.join(', ')}); run the app's build first`);
  const demo = { pageErrors: [], unavailable: '' } as unknown as DemoOnWebGpu;
  let browser: WebGpuPage | undefined;
  beforeAll(async () => {
    browser = await openDemoOnWebGpu(app, timeout);
    Object.assign(demo, { page: browser.page, pageErrors: browser.pageErrors, unavailable: browser.unavailable });
  }, timeout);
  afterAll(async () => {
    await browser?.close();
  });
  return demo;
}

/**
 * Loads these folder files (path → bytes) on `device` through the page's file picker, waits (up to
 * `timeout` ms) for the status line to start with `status` and checks that it names the device; the status line.
 */
export async function loadFolder(page: Page, files: Record<string, Uint8Array>, device: 'wasm' | 'webgpu', status: string, timeout: number): Promise<string> {
  await page.selectOption('#device-select', device);
  await page.setInputFiles('#file-input', Object.entries(files).map(([path, bytes]) => ({ name: path.replace('onnx/', ''), mimeType: 'application/octet-stream', buffer: Buffer.from(bytes) })));
  await page.waitForFunction((s) => document.querySelector('#model-status')?.textContent?.startsWith(s), status, { timeout });
  const line = (await page.textContent('#model-status'))!;
  expect(line).toMatch(new RegExp(` · device ${device}(?:,| ·|$)`));
  return line;
}
