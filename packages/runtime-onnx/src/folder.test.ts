// The transformers.js export folder of a decoder-lm: its files and their gpt2-style fields,
// atomic re-export, loading it back (same generation as the in-memory export and as tfjs), and
// one-line errors naming the file for a missing file or a corrupt or foreign model.onnx.

import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CharTokenizer, CheckpointError, configAs, greedyDecode } from '@attend/core';
import { serializeCheckpoint, setupBackend, tfjsStepFunction } from '@attend/transformer';
import { exportFolder, loadExportFolder, loadOnnxModel } from './node.js';
import { GraphBuilder } from './onnx/graph.js';
import { encodeModel } from './onnx/proto.js';
import { generate } from './generate.js';
import { OnnxModelError } from './session.js';
import { failure, makeModel, MAX_LEN, VOCAB } from './test-utils/models.js';

let dir: string;
let ckpt: string;
let greedy: number[][];

beforeAll(async () => {
  await setupBackend();
  dir = await mkdtemp(join(tmpdir(), 'attend-folder-'));
  ckpt = join(dir, 'ckpt');
  const model = makeModel({ preset: 'decoder-lm', positional: 'learned', attention: 'general' }, 21);
  const tokenizer = CharTokenizer.fromAlphabet('abcdefghi');
  expect(tokenizer.vocabSize).toBe(VOCAB);
  await mkdir(ckpt);
  for (const [name, bytes] of Object.entries(serializeCheckpoint({ model, tokenizer: tokenizer.toJSON() }))) await writeFile(join(ckpt, name), bytes);
  const c = model.config;
  greedy = await greedyDecode(tfjsStepFunction(model), { batchSize: 2, vocabSize: VOCAB, bosTokenId: c.bosTokenId, eosTokenId: c.eosTokenId, maxNewTokens: MAX_LEN - 1 });
  model.dispose();
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const readJson = async (file: string): Promise<Record<string, unknown>> => JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;

describe('export folder (transformers.js layout)', () => {
  it('writes config, tokenizer, tokenizer_config, generation_config and onnx/model.onnx', async () => {
    const out = join(dir, 'export');
    await exportFolder(ckpt, out);
    await exportFolder(ckpt, out); // over an existing folder, atomically
    expect((await readdir(dir)).sort()).toEqual(['ckpt', 'export']);
    expect((await readdir(out)).sort()).toEqual(['config.json', 'generation_config.json', 'onnx', 'tokenizer.json', 'tokenizer_config.json']);
    expect(await readdir(join(out, 'onnx'))).toEqual(['model.onnx']);
    const config = await readJson(join(out, 'config.json'));
    expect(config).toMatchObject({ model_type: 'gpt2', vocab_size: VOCAB, n_embd: 8, n_head: 2, n_layer: 2, n_positions: MAX_LEN, n_inner: 16, bos_token_id: 1, eos_token_id: 2, pad_token_id: 0, use_cache: true });
    expect(config.attend).toEqual(await readJson(join(ckpt, 'config.json')));
    expect(await readJson(join(out, 'tokenizer_config.json'))).toMatchObject({ tokenizer_class: 'PreTrainedTokenizer', bos_token: '<s>', eos_token: '</s>', pad_token: '<pad>', unk_token: '<unk>', model_max_length: MAX_LEN });
    expect(await readJson(join(out, 'generation_config.json'))).toMatchObject({ bos_token_id: 1, eos_token_id: 2, pad_token_id: 0, max_length: MAX_LEN });
    expect(await readFile(join(out, 'tokenizer.json'))).toEqual(await readFile(join(ckpt, 'tokenizer.json')));

    const loaded = await loadExportFolder(out);
    expect(loaded.tokenizer.kind).toBe('char');
    expect(loaded.model.graph).toBe('decoder-with-past');
    expect(await generate(loaded.model, { batchSize: 2, maxNewTokens: MAX_LEN })).toEqual(greedy);
    await loaded.model.release();
    const model = await loadOnnxModel(out);
    expect(configAs(model.config, ['decoder-lm'], 'the attention field').attention).toBe('general');
    await model.release();
  });

  it('names the missing file, and a corrupt or foreign model.onnx', async () => {
    const out = join(dir, 'broken');
    await exportFolder(ckpt, out);
    const onnx = join(out, 'onnx', 'model.onnx');
    const bytes = await readFile(onnx);

    await writeFile(onnx, bytes.subarray(0, 100));
    expect(await failure(loadOnnxModel(out), OnnxModelError)).toMatch(new RegExp(`^${onnx}: not an ONNX model \\(`));
    const g = new GraphBuilder('foreign');
    g.output('y', g.add(g.input('a', 'float32', ['n']), g.floats([1])), 'float32', ['n']);
    await writeFile(onnx, encodeModel(g.toModel({ producerName: 'pytorch', producerVersion: '2.5' })));
    expect(await failure(loadOnnxModel(out), OnnxModelError)).toBe(`${onnx}: an ONNX model, but not an attend export (no 'attend.config' metadata; producer 'pytorch')`);
    await rm(onnx);
    expect(await failure(loadOnnxModel(out), OnnxModelError)).toBe(`${onnx}: missing (a decoder-lm export needs onnx/model.onnx)`);
    await writeFile(onnx, bytes);

    const why = { 'tokenizer_config.json': 'a decoder-lm export has one', 'tokenizer.json': 'the export needs its tokenizer', 'config.json': 'every export has one' };
    for (const [name, reason] of Object.entries(why)) {
      const file = join(out, name);
      const saved = await readFile(file);
      await rm(file);
      expect(await failure(loadOnnxModel(out), CheckpointError)).toBe(`${file}: missing (${reason})`);
      await writeFile(file, saved);
    }
    await writeFile(join(out, 'config.json'), '{"model_type": "gpt2"}');
    expect(await failure(loadOnnxModel(out), CheckpointError)).toBe(`${join(out, 'config.json')}: no 'attend' key (not an attend export folder)`);

    const noTokenizer = join(dir, 'ckpt-no-tokenizer');
    await mkdir(noTokenizer);
    for (const name of ['config.json', 'model.safetensors']) await writeFile(join(noTokenizer, name), await readFile(join(ckpt, name)));
    expect(await failure(exportFolder(noTokenizer, join(dir, 'nope')), CheckpointError)).toBe(`${noTokenizer}/tokenizer.json: missing (an export folder needs the tokenizer)`);
    await rm(noTokenizer, { recursive: true });
    await rm(out, { recursive: true });
    expect((await readdir(dir)).sort()).toEqual(['ckpt', 'export']);
  });

  it("refuses a checkpoint whose bos is the tokenizer's </s>, so tokenizer_config.json never names </s> as bos", async () => {
    const eosAsBos = join(dir, 'ckpt-eos-as-bos');
    await mkdir(eosAsBos);
    for (const name of ['model.safetensors', 'tokenizer.json']) await writeFile(join(eosAsBos, name), await readFile(join(ckpt, name)));
    const config = await readJson(join(ckpt, 'config.json'));
    await writeFile(join(eosAsBos, 'config.json'), JSON.stringify({ ...config, bosTokenId: 2 }));
    expect(await failure(exportFolder(eosAsBos, join(dir, 'nope')), CheckpointError)).toBe(
      `${eosAsBos}/tokenizer.json: its bos token "<s>" is id 1 but config.json has bosTokenId 2 (files from different exports?)`,
    );
    await rm(eosAsBos, { recursive: true });
    expect((await readdir(dir)).sort()).toEqual(['ckpt', 'export']);
  });
});
