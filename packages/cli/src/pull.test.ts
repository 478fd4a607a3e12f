// `attend pull` against a server on loopback laid out like the Hugging Face Hub: which files
// come down, checksums, a paged listing, revisions, an interrupted download continued with a
// range request, a corrupted one refused, one-line errors, and the --out rules.

import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attend, type Run } from './test-utils/attend.js';
import { hfGpt2Files } from './test-utils/hf-gpt2.js';
import { startFakeHub, type FakeHub, type HubFile } from './test-utils/hub-server.js';

let dir: string;
let hub: FakeHub;
const files = hfGpt2Files({}, 20_000); // model.safetensors ≈ 320 kB
const weights = files['model.safetensors']!;
const text = (s: string): Uint8Array => new TextEncoder().encode(s);

const main: Record<string, HubFile> = {
  'config.json': { bytes: files['config.json']! },
  'model.safetensors': { bytes: weights, lfs: true },
  'tokenizer_config.json': { bytes: text('{}') },
  'README.md': { bytes: text('# tiny gpt2\n') },
  'pytorch_model.bin': { bytes: new Uint8Array(64), lfs: true },
  'onnx/model.onnx': { bytes: new Uint8Array(32), lfs: true },
  '.gitattributes': { bytes: text('*.bin filter=lfs\n') },
};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attend-pull-'));
  hub = await startFakeHub({
    'tiny/gpt2': { revisions: { main, v2: { ...main, 'config.json': { bytes: hfGpt2Files({ n_positions: 4, bos_token_id: 1 })['config.json']! } } } },
    'tiny/torch-only': { revisions: { main: { 'config.json': main['config.json']!, 'pytorch_model.bin': main['pytorch_model.bin']! } } },
    'tiny/no-config': { revisions: { main: { 'model.safetensors': main['model.safetensors']! } } },
  });
});

afterAll(async () => {
  await hub.close();
  await rm(dir, { recursive: true, force: true });
});

const pull = (repo: string, out: string, ...more: string[]): Promise<Run> => attend(['pull', repo, '--out', out, '--hub-url', hub.url, ...more]);
/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  await new Promise((r) => server.close(r));
  return port;
}

const exists = (path: string): Promise<boolean> => stat(path).then(() => true, () => false);

function expectError(r: Run, code: number, message: RegExp): void {
  expect(r.stderr).toMatch(message);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.code).toBe(code);
}

describe('attend pull', () => {
  it('downloads the files attend import reads, checked against the listed checksums, and import takes the folder', async () => {
    const out = join(dir, 'gpt2');
    const r = await pull('tiny/gpt2', out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/pulled tiny\/gpt2@main into .*: 4 files, .*checksums verified/);
    expect((await readdir(out)).sort()).toEqual(['README.md', 'attend-pull.json', 'config.json', 'model.safetensors', 'tokenizer_config.json']);
    expect(new Uint8Array(await readFile(join(out, 'model.safetensors')))).toEqual(weights);
    const manifest = JSON.parse(await readFile(join(out, 'attend-pull.json'), 'utf8'));
    expect(manifest).toMatchObject({ repo: 'tiny/gpt2', revision: 'main', hub: hub.url });
    expect(manifest.files.find((f: { path: string }) => f.path === 'model.safetensors').sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(manifest.files.find((f: { path: string }) => f.path === 'config.json').gitOid).toMatch(/^[0-9a-f]{40}$/);
    expect(await exists(`${out}.pull-partial`)).toBe(false);
    const imported = await attend(['import', out, '--out', join(dir, 'gpt2-ckpt')]);
    expect(imported.stderr).toBe('');
    expect(imported.code).toBe(0);
  });

  it('takes every file with --all-files, and the revision asked for', async () => {
    const out = join(dir, 'gpt2-all');
    expect((await pull('tiny/gpt2', out, '--all-files', '--revision', 'v2')).code).toBe(0);
    expect((await readdir(out)).sort()).toEqual(['.gitattributes', 'README.md', 'attend-pull.json', 'config.json', 'model.safetensors', 'onnx', 'pytorch_model.bin', 'tokenizer_config.json']);
    expect(await readdir(join(out, 'onnx'))).toEqual(['model.onnx']);
    expect(JSON.parse(await readFile(join(out, 'config.json'), 'utf8')).bos_token_id).toBe(1);
    expect(JSON.parse(await readFile(join(out, 'attend-pull.json'), 'utf8')).revision).toBe('v2');
  });

  it('continues an interrupted download from where it stopped, with a range request', async () => {
    const out = join(dir, 'gpt2-resumed');
    hub.cutAfter('model.safetensors', 100_000);
    delete hub.ranges['model.safetensors'];
    const first = await pull('tiny/gpt2', out);
    expectError(first, 1, /tiny\/gpt2\/model\.safetensors: download stopped at \d+ of \d+ bytes .*run pull again to continue/);
    expect(await exists(out)).toBe(false);
    const partial = (await stat(join(`${out}.pull-partial`, 'model.safetensors'))).size;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(weights.length);
    const second = await pull('tiny/gpt2', out);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain('continued from');
    expect(hub.ranges['model.safetensors']).toEqual(['-', `bytes=${partial}-${weights.length - 1}`]);
    expect(new Uint8Array(await readFile(join(out, 'model.safetensors')))).toEqual(weights);
    expect(await exists(`${out}.pull-partial`)).toBe(false);
  });

  it('refuses a download that does not match its checksum, removes it, and writes no folder', async () => {
    const out = join(dir, 'gpt2-corrupt');
    const bad = Uint8Array.from(weights);
    bad[bad.length - 1]! ^= 1;
    hub.corrupt('model.safetensors', bad);
    try {
      expectError(await pull('tiny/gpt2', out), 1, /tiny\/gpt2\/model\.safetensors: download does not match the Hub's listing \(sha256 [0-9a-f]{64}, expected [0-9a-f]{64}\); removed it/);
    } finally {
      hub.corrupt('model.safetensors', weights);
    }
    expect(await exists(out)).toBe(false);
    expect(await exists(join(`${out}.pull-partial`, 'model.safetensors'))).toBe(false);
  });

  it('says in one line what is wrong with the repository, the server or the name', async () => {
    expectError(await pull('tiny/torch-only', join(dir, 'x1')), 2, /tiny\/torch-only@main: has no \.safetensors weights \(only pytorch_model\.bin\); attend imports model\.safetensors/);
    expectError(await pull('tiny/no-config', join(dir, 'x2')), 2, /tiny\/no-config@main: has no config\.json/);
    expectError(await pull('tiny/missing', join(dir, 'x3')), 1, /tiny\/missing@main: not found on 127\.0\.0\.1:\d+ /);
    expectError(await pull('tiny/gpt2', join(dir, 'x4'), '--revision', 'nope'), 1, /tiny\/gpt2@nope: not found on/);
    expectError(await pull('../etc', join(dir, 'x5')), 2, /\.\.\/etc: not a model repository name/);
    const closed = await closedPort();
    expectError(await attend(['pull', 'tiny/gpt2', '--out', join(dir, 'x6'), '--hub-url', `http://127.0.0.1:${closed}`]), 1, new RegExp(`cannot reach 127\\.0\\.0\\.1:${closed}: ECONNREFUSED; check the network`));
    for (const name of ['x1', 'x2', 'x3', 'x4', 'x5', 'x6']) expect(await exists(join(dir, name))).toBe(false);
  });

  it("keeps a user's folder, replaces an earlier pull only with --overwrite, and never one holding other files", async () => {
    const mine = join(dir, 'mine');
    await mkdir(mine);
    await writeFile(join(mine, 'thesis.txt'), 'mine');
    expectError(await pull('tiny/gpt2', mine), 2, /--out .*mine: holds other files \(thesis\.txt\), not an earlier pull/);
    expect(await readFile(join(mine, 'thesis.txt'), 'utf8')).toBe('mine');

    const out = join(dir, 'gpt2-again');
    expect((await pull('tiny/gpt2', out)).code).toBe(0);
    expectError(await pull('tiny/gpt2', out, '--revision', 'v2'), 2, /already holds a pulled model; give --overwrite/);
    expect((await pull('tiny/gpt2', out, '--revision', 'v2', '--overwrite')).code).toBe(0);
    expect(JSON.parse(await readFile(join(out, 'attend-pull.json'), 'utf8')).revision).toBe('v2');
    await writeFile(join(out, 'notes.txt'), 'mine');
    expectError(await pull('tiny/gpt2', out, '--overwrite'), 2, /holds other files \(notes\.txt\), not an earlier pull/);
    expect(await readFile(join(out, 'notes.txt'), 'utf8')).toBe('mine');
  });

  it('checks --out again before the download takes its place: a file put there meanwhile stays, and nothing is swapped in', async () => {
    const out = join(dir, 'gpt2-meanwhile');
    hub.beforeDownload('model.safetensors', async () => {
      await mkdir(out);
      await writeFile(join(out, 'notes.txt'), 'mine');
    });
    const r = await pull('tiny/gpt2', out);
    expectError(r, 2, /--out .*gpt2-meanwhile: holds other files \(notes\.txt\)/);
    expect(await readdir(out)).toEqual(['notes.txt']);
    expect(await readFile(join(out, 'notes.txt'), 'utf8')).toBe('mine');
  });

  it("refuses to mix an unfinished pull of another revision into this one unless told to discard it", async () => {
    const out = join(dir, 'gpt2-mixed');
    hub.cutAfter('model.safetensors', 50_000);
    expect((await pull('tiny/gpt2', out)).code).toBe(1);
    expectError(await pull('tiny/gpt2', out, '--revision', 'v2'), 2, /gpt2-mixed\.pull-partial: holds an unfinished pull of tiny\/gpt2@main; pull that again to finish it, or give --overwrite/);
    expect((await pull('tiny/gpt2', out, '--revision', 'v2', '--overwrite')).code).toBe(0);
    expect(JSON.parse(await readFile(join(out, 'attend-pull.json'), 'utf8')).revision).toBe('v2');
  });
});
