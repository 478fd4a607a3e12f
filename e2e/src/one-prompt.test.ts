// One prompt, three front ends: `attend generate` (the built CLI), `attend serve` (a real server
// process) and the playground's decoding code (apps/playground/src/decode.ts, here on
// onnxruntime-node) turn a decoder-lm's prompt into the same ids (core's `lmPromptIds`: no bos,
// as the LM's training windows have none) and so continue it with the same text and the same
// finishReason. The prompts are chosen so that a bos before them changes the continuation: a
// front end that prepended bos would fail here.

import { execFile, spawn } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configAs, lmPromptIds } from '@attend/core';
import { createOnnxModel, generate } from '@attend/runtime-onnx/node';
import { decodeWithAttention, encodeInput } from '../../apps/playground/src/decode.js';
import { memoryFolderFiles, readModelFolder, textTokenizer } from '../../apps/playground/src/model-folder.js';
import { tinyExport } from '../../apps/playground/src/test-utils/fixtures.js';

const BIN = resolve(fileURLToPath(import.meta.url), '../../../packages/cli/dist/bin.js');
const PROMPTS = ['bad', 'cafe', 'e', 'fed', 'ab', 'dcba'];

let dir: string;
let folder: string;
let files: Record<string, Uint8Array>;
let server: ReturnType<typeof spawn> | undefined;
let url: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attend-one-prompt-'));
  folder = join(dir, 'lm');
  files = await tinyExport('decoder-lm', { withAttention: true });
  for (const [path, bytes] of Object.entries(files)) {
    await mkdir(dirname(join(folder, path)), { recursive: true });
    await writeFile(join(folder, path), bytes);
  }
  server = spawn(process.execPath, [BIN, 'serve', folder, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  url = await new Promise<string>((ok, fail) => {
    let out = '';
    server!.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /on (http:\/\/\S+)/.exec(out);
      if (m) ok(m[1]!);
    });
    server!.on('exit', (code) => fail(new Error(`attend serve exited with ${code}`)));
  });
});

afterAll(async () => {
  server?.kill('SIGTERM');
  await rm(dir, { recursive: true, force: true });
});

describe('one prompt through the CLI, attend serve and the playground', () => {
  it('gives the same ids, text and finishReason in all three', async () => {
    const loaded = await readModelFolder(memoryFolderFiles(files), '');
    const config = configAs(loaded.config, ['decoder-lm'], 'the one-prompt test');
    const tokenizer = textTokenizer(loaded);
    const model = await createOnnxModel(loaded.graphs['onnx/model.onnx']!);
    let bosMatters = 0;
    try {
      for (const prompt of PROMPTS) {
        // The playground's path: its input check, then its decoding loop with attention.
        const { ids } = encodeInput(tokenizer, config, prompt);
        expect(ids).toEqual(lmPromptIds(tokenizer, config.bosTokenId, prompt));
        expect(ids).toEqual(tokenizer.encode(prompt)); // no bos
        const page = await decodeWithAttention({ kind: 'lm', model }, config, ids);
        const pageText = tokenizer.decode(page.output);

        const cli = await promisify(execFile)(process.execPath, [BIN, 'generate', folder, prompt, '--json']);
        const [fromCli] = (JSON.parse(cli.stdout) as { results: { input: string; output: string; finishReason: string }[] }).results;
        const res = await fetch(`${url}/v1/generate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ prompt }) });
        const fromServe = (await res.json()) as { text: string; tokens: number; finishReason: string };

        expect(fromCli).toEqual({ input: prompt, output: pageText, finishReason: page.finishReason });
        expect(fromServe).toEqual({ text: pageText, tokens: page.output.length, finishReason: page.finishReason });
        expect(page.input).toEqual(ids);
        expect(page.decoderInputs.slice(0, ids.length)).toEqual(ids);

        // With bos before the prompt the model would say something else (for some prompts).
        const [withBos] = await generate(model, { prompts: [[config.bosTokenId, ...ids]], maxNewTokens: config.maxSeqLen - ids.length - 1 });
        if (withBos!.join() !== page.output.slice(0, withBos!.length).join()) bosMatters += 1;
      }
    } finally {
      await model.release();
    }
    expect(bosMatters).toBeGreaterThan(0);
  });
});
