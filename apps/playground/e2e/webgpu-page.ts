// The browser both WebGPU page tests open: Debian's chromium with its software WebGPU adapter
// (SwiftShader, `--use-webgpu-adapter=swiftshader`) on the built app, served from 127.0.0.1
// (a secure context), and which adapter the page got.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { preview, type PreviewServer } from 'vite';

export const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--headless', '--no-sandbox', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
  '--enable-unsafe-webgpu', '--use-webgpu-adapter=swiftshader',
];

export interface WebGpuPage {
  page: Page;
  /** Messages of the page's uncaught errors. */
  pageErrors: string[];
  /** Why WebGPU cannot be tested in this browser, or '' when the page got the SwiftShader adapter. */
  unavailable: string;
  close(): Promise<void>;
}

/**
 * openWebGpuPage, then waits (up to `timeout` ms) for the demo to load on 'auto', which is WebGPU
 * when an adapter exists; `unavailable` also says when onnxruntime-web's WebGPU EP failed to start.
 */
export async function openDemoOnWebGpu(app: string, timeout: number): Promise<WebGpuPage> {
  const opened = await openWebGpuPage(app);
  await opened.page.waitForSelector('body[data-model="ready"]', { timeout });
  const failed = /\(webgpu failed: ([^)]+)\)/.exec((await opened.page.textContent('#model-status')) ?? '');
  return !opened.unavailable && failed ? { ...opened, unavailable: `onnxruntime-web's WebGPU EP failed on SwiftShader: ${failed[1]}` } : opened;
}

/** Where openWebGpuPage goes on the served app's origin, and what it sets up on the page before. */
export interface OpenOptions {
  /** Default '/', the app. */
  path?: string;
  /** Run before the page opens `path` (e.g. routes for files the app's build does not hold). */
  prepare?: (page: Page) => Promise<void>;
}

/** Serves the built app at `app` (its dist/), opens it (or `options.path` there) in chromium and asks the page for a WebGPU adapter. */
export async function openWebGpuPage(app: string, options: OpenOptions = {}): Promise<WebGpuPage> {
  const server: PreviewServer = await preview({ root: app, logLevel: 'silent', preview: { host: '127.0.0.1', port: 0, strictPort: false, open: false } });
  const { port } = server.httpServer.address() as AddressInfo;
  const userDataDir = await mkdtemp(join(tmpdir(), 'attend-chromium-webgpu-'));
  let context: BrowserContext | undefined;
  const close = async (): Promise<void> => {
    await context?.close();
    await new Promise<void>((resolve) => server.httpServer.close(() => resolve()));
    await rm(userDataDir, { recursive: true, force: true });
  };
  context = await chromium.launchPersistentContext(userDataDir, { executablePath: CHROMIUM, headless: true, args: FLAGS, viewport: { width: 1280, height: 900 } });
  const page = context.pages()[0] ?? (await context.newPage());
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await options.prepare?.(page);
  await page.goto(`http://127.0.0.1:${port}${options.path ?? '/'}`);
  const adapter = await page.evaluate(async () => {
    const gpu = (navigator as { gpu?: { requestAdapter(): Promise<{ info?: { architecture?: string; vendor?: string } } | null> } }).gpu;
    if (!gpu) return 'no navigator.gpu';
    const a = await gpu.requestAdapter();
    return a ? `${a.info?.vendor ?? '?'}/${a.info?.architecture ?? '?'}` : 'navigator.gpu.requestAdapter() gave null';
  });
  const unavailable = adapter.endsWith('/swiftshader') ? '' : `no SwiftShader WebGPU adapter in chromium: ${adapter}`;
  return { page, pageErrors, unavailable, close };
}
