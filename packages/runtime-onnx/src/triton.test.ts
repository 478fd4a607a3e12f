// The Triton model repository of an export folder, checked against Triton's documented model
// configuration (config.pbtxt: name matching the model directory, platform onnxruntime_onnx,
// max_batch_size, input/output with name, data_type and dims, -1 for dynamic axes, the batch
// axis left out when max_batch_size > 0, dynamic_batching only then) and against the graphs
// themselves: the names are the ONNX Runtime session's, and a run's output shapes fit the dims.

import { beforeAll, describe, expect, it } from 'vitest';
import { CharTokenizer, createModelConfig } from '@attend/core';
import { createModel, serializeCheckpoint, setupBackend } from '@attend/transformer';
import { createOnnxModel } from './node.js';
import { exportFolderFiles } from './folder.js';
import { TritonExportError, tritonConfig, tritonRepositoryFiles } from './triton.js';
import { forwardOf, makeModel, VOCAB } from './test-utils/models.js';

type Value = string | number | Message | Value[];
interface Message {
  [field: string]: Value;
}

/** A parser of the protobuf text format subset config.pbtxt uses: `f: v`, `f { … }`, `f [ … ]`. */
function parsePbtxt(text: string): Message {
  const tokens = text.match(/"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?|[A-Za-z_][A-Za-z0-9_]*|[{}[\]:,]/g) ?? [];
  let i = 0;
  const value = (): Value => {
    const t = tokens[i++]!;
    if (t === '{') return message('}');
    if (t === '[') {
      const list: Value[] = [];
      while (tokens[i] !== ']') {
        list.push(value());
        if (tokens[i] === ',') i++;
      }
      i++;
      return list;
    }
    if (t.startsWith('"')) return JSON.parse(t) as string;
    return /^-?\d/.test(t) ? Number(t) : t;
  };
  const message = (end: string | undefined): Message => {
    const m: Message = {};
    while (i < tokens.length && tokens[i] !== end) {
      const field = tokens[i++]!;
      expect(field).toMatch(/^[a-z_]+$/);
      if (tokens[i] === ':') i++;
      expect(m[field]).toBeUndefined();
      m[field] = value();
    }
    i++;
    return m;
  };
  const top = message(undefined);
  expect(i).toBeGreaterThanOrEqual(tokens.length);
  return top;
}

// The fields and data types used here, as Triton's model configuration documents them.
const TOP_LEVEL = ['name', 'platform', 'max_batch_size', 'input', 'output', 'dynamic_batching'];
const DATA_TYPES = ['TYPE_BOOL', 'TYPE_INT32', 'TYPE_INT64', 'TYPE_FP32'];

/** Checks a config.pbtxt against the documented format and the graph it describes. */
async function checkConfig(text: string, model: string, onnx: Uint8Array): Promise<Message> {
  const config = parsePbtxt(text);
  for (const key of Object.keys(config)) expect(TOP_LEVEL).toContain(key);
  expect(config.name).toBe(model);
  expect(config.platform).toBe('onnxruntime_onnx');
  expect(Number.isInteger(config.max_batch_size)).toBe(true);
  const session = await createOnnxModel(onnx);
  for (const [part, names] of [['input', session.inputNames], ['output', session.outputNames]] as const) {
    const tensors = config[part] as Message[];
    expect(tensors.map((t) => t.name)).toEqual(names);
    for (const t of tensors) {
      expect(Object.keys(t).sort()).toEqual(['data_type', 'dims', 'name']);
      expect(DATA_TYPES).toContain(t.data_type);
      for (const d of t.dims as number[]) expect(d === -1 || d > 0).toBe(true);
    }
  }
  if ((config.max_batch_size as number) > 0) expect(config.dynamic_batching).toEqual({ max_queue_delay_microseconds: 1000 });
  else expect(config.dynamic_batching).toBeUndefined();
  await session.release();
  return config;
}

const tokenizer = CharTokenizer.fromAlphabet('abcdefghi');
let folders: Record<'lm' | 'seq2seq' | 'classifier', Record<string, Uint8Array>>;

beforeAll(async () => {
  await setupBackend();
  const folder = (preset: 'decoder-lm' | 'encoder-decoder' | 'encoder-classifier', seed: number): Record<string, Uint8Array> => {
    const model = makeModel({ preset }, seed);
    const files = serializeCheckpoint({ model, tokenizer: tokenizer.toJSON() });
    model.dispose();
    return exportFolderFiles(files);
  };
  expect(tokenizer.vocabSize).toBe(VOCAB);
  folders = { lm: folder('decoder-lm', 1), seq2seq: folder('encoder-decoder', 2), classifier: folder('encoder-classifier', 3) };
});

describe('Triton model repository', () => {
  it('decoder-lm: <name>/config.pbtxt, <name>/1/model.onnx, batched KV-cache inputs with the batch axis left out', async () => {
    const files = tritonRepositoryFiles(folders.lm, { name: 'tiny' });
    expect(Object.keys(files).sort()).toEqual(['tiny/1/model.onnx', 'tiny/config.json', 'tiny/config.pbtxt', 'tiny/tokenizer.json']);
    expect(files['tiny/1/model.onnx']).toBe(folders.lm['onnx/model.onnx']);
    const config = await checkConfig(new TextDecoder().decode(files['tiny/config.pbtxt']), 'tiny', files['tiny/1/model.onnx']!);
    expect(config.max_batch_size).toBe(32);
    const byName = (part: 'input' | 'output') => Object.fromEntries((config[part] as Message[]).map((t) => [t.name, t]));
    // H = 2 heads of D = 4 (dModel 8); past [B, H, P, D] → dims [2, -1, 4]
    expect(byName('input')).toEqual({
      input_ids: { name: 'input_ids', data_type: 'TYPE_INT64', dims: [-1] },
      attention_mask: { name: 'attention_mask', data_type: 'TYPE_INT64', dims: [-1] },
      position_ids: { name: 'position_ids', data_type: 'TYPE_INT64', dims: [-1] },
      'past_key_values.0.key': { name: 'past_key_values.0.key', data_type: 'TYPE_FP32', dims: [2, -1, 4] },
      'past_key_values.0.value': { name: 'past_key_values.0.value', data_type: 'TYPE_FP32', dims: [2, -1, 4] },
      'past_key_values.1.key': { name: 'past_key_values.1.key', data_type: 'TYPE_FP32', dims: [2, -1, 4] },
      'past_key_values.1.value': { name: 'past_key_values.1.value', data_type: 'TYPE_FP32', dims: [2, -1, 4] },
    });
    expect(byName('output').logits).toEqual({ name: 'logits', data_type: 'TYPE_FP32', dims: [-1, VOCAB] });
    expect(byName('output')['present.1.value']).toEqual({ name: 'present.1.value', data_type: 'TYPE_FP32', dims: [2, -1, 4] });
  });

  it('the dims fit what the graph returns for a batch of 3', async () => {
    const files = tritonRepositoryFiles(folders.classifier, { name: 'cls', maxBatchSize: 8 });
    const config = await checkConfig(new TextDecoder().decode(files['cls/config.pbtxt']), 'cls', files['cls/1/model.onnx']!);
    expect(config.max_batch_size).toBe(8);
    const model = await createOnnxModel(files['cls/1/model.onnx']!);
    const ids = Int32Array.from({ length: 3 * 5 }, (_, i) => 4 + (i % 9));
    const { logits } = await forwardOf(model).run({ inputIds: { data: ids, batchSize: 3, seqLen: 5 } });
    const dims = (config.output as Message[])[0]!.dims as number[];
    expect(logits.dims).toEqual([3, ...dims.map((d) => (d === -1 ? logits.dims[1] : d))]);
    expect(dims).toEqual([3]); // numClasses
    await model.release();
  });

  it('encoder-decoder: two models; the merged decoder (use_cache_branch [1]) unbatched with full shapes', async () => {
    const files = tritonRepositoryFiles(folders.seq2seq, { name: 'mt' });
    expect(Object.keys(files).filter((f) => f.endsWith('.pbtxt') || f.endsWith('.onnx')).sort()).toEqual(['mt-decoder/1/model.onnx', 'mt-decoder/config.pbtxt', 'mt-encoder/1/model.onnx', 'mt-encoder/config.pbtxt']);
    const encoder = await checkConfig(new TextDecoder().decode(files['mt-encoder/config.pbtxt']), 'mt-encoder', files['mt-encoder/1/model.onnx']!);
    expect(encoder.max_batch_size).toBe(32);
    expect((encoder.output as Message[])[0]).toEqual({ name: 'last_hidden_state', data_type: 'TYPE_FP32', dims: [-1, 8] });
    const decoder = await checkConfig(new TextDecoder().decode(files['mt-decoder/config.pbtxt']), 'mt-decoder', files['mt-decoder/1/model.onnx']!);
    expect(decoder.max_batch_size).toBe(0);
    const inputs = Object.fromEntries((decoder.input as Message[]).map((t) => [t.name, t]));
    expect(inputs.use_cache_branch).toEqual({ name: 'use_cache_branch', data_type: 'TYPE_BOOL', dims: [1] });
    expect(inputs.input_ids).toEqual({ name: 'input_ids', data_type: 'TYPE_INT64', dims: [-1, -1] });
    expect(inputs.encoder_hidden_states).toEqual({ name: 'encoder_hidden_states', data_type: 'TYPE_FP32', dims: [-1, -1, 8] });
  });

  it('rnn-seq2seq: encoder and decoder step unbatched (their [L, B, d] states put the batch second); vit: pixel_values batched', async () => {
    const rnn = createModel(createModelConfig({ preset: 'rnn-seq2seq', vocabSize: VOCAB, dModel: 8, maxSeqLen: 10, rnnCell: 'lstm', rnnAttention: 'general' }));
    const files = tritonRepositoryFiles(exportFolderFiles(serializeCheckpoint({ model: rnn, tokenizer: tokenizer.toJSON() })), { name: 'gru' });
    rnn.dispose();
    const encoder = await checkConfig(new TextDecoder().decode(files['gru-encoder/config.pbtxt']), 'gru-encoder', files['gru-encoder/1/model.onnx']!);
    expect(encoder.max_batch_size).toBe(0);
    expect((encoder.output as Message[]).map((t) => t.dims)).toEqual([[-1, -1, 8], [1, -1, 8]]); // last_hidden_state, decoder_initial_state
    const decoder = await checkConfig(new TextDecoder().decode(files['gru-decoder/config.pbtxt']), 'gru-decoder', files['gru-decoder/1/model.onnx']!);
    expect(decoder.max_batch_size).toBe(0);
    const inputs = Object.fromEntries((decoder.input as Message[]).map((t) => [t.name, t]));
    expect(inputs.cell_state).toEqual({ name: 'cell_state', data_type: 'TYPE_FP32', dims: [1, -1, 8] });
    const vit = createModel(createModelConfig({ preset: 'vit-classifier', numClasses: 4, dModel: 8, numHeads: 2, numEncoderLayers: 1, dFf: 16 }));
    const vitFiles = tritonRepositoryFiles(exportFolderFiles(serializeCheckpoint({ model: vit })), { name: 'vit' });
    vit.dispose();
    expect(Object.keys(vitFiles).sort()).toEqual(['vit/1/model.onnx', 'vit/config.json', 'vit/config.pbtxt', 'vit/preprocessor_config.json']);
    const config = await checkConfig(new TextDecoder().decode(vitFiles['vit/config.pbtxt']), 'vit', vitFiles['vit/1/model.onnx']!);
    expect((config.input as Message[])[0]).toEqual({ name: 'pixel_values', data_type: 'TYPE_FP32', dims: [1, 8, 8] });
  });

  it('rejects a bad model name, a folder without graphs, and bytes that are not ONNX', () => {
    expect(() => tritonRepositoryFiles(folders.lm, { name: 'my model' })).toThrow(TritonExportError);
    expect(() => tritonRepositoryFiles({ 'config.json': new Uint8Array(2) }, { name: 'x' })).toThrow(/neither onnx\/model\.onnx nor/);
    expect(() => tritonConfig(new Uint8Array([0xff, 0xff, 0xff]), 'x')).toThrow();
  });
});
