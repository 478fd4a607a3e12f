import { describe, expect, it } from 'vitest';
import { configAs } from '@attend/core';
import { createOnnxModel, generate, translate, translateRnn, translateRnnWithAttention, type DecodeStrategy } from '@attend/runtime-onnx/node';
import { decodeWithAttention, encodeInput, InputError, type Sessions } from './decode.js';
import { memoryFolderFiles, readModelFolder, textTokenizer, type ModelFolder } from './model-folder.js';
import { tinyExport } from './test-utils/fixtures.js';

async function load(preset: 'encoder-decoder' | 'decoder-lm' | 'rnn-seq2seq'): Promise<{ folder: ModelFolder; sessions: Sessions }> {
  // Seed 10 gives the tiny GRU model outputs that end with eos and outputs that reach the limit.
  const folder = await readModelFolder(memoryFolderFiles(await tinyExport(preset, preset === 'rnn-seq2seq' ? { seed: 10 } : {})), '');
  if (preset === 'rnn-seq2seq') {
    const encoder = await createOnnxModel(folder.graphs['onnx/rnn_encoder.onnx']!);
    const decoder = await createOnnxModel(folder.graphs['onnx/rnn_decoder_step.onnx']!);
    return { folder, sessions: { kind: 'rnn', encoder, decoder } };
  }
  if (preset === 'encoder-decoder') {
    const encoder = await createOnnxModel(folder.graphs['onnx/encoder_model.onnx']!);
    const decoder = await createOnnxModel(folder.graphs['onnx/decoder_model_merged.onnx']!);
    return { folder, sessions: { kind: 'seq2seq', encoder, decoder } };
  }
  return { folder, sessions: { kind: 'lm', model: await createOnnxModel(folder.graphs['onnx/model.onnx']!) } };
}

const rowSums = (row: { heads: number; keys: number; data: Float32Array }): number[] =>
  Array.from({ length: row.heads }, (_, h) => row.data.subarray(h * row.keys, (h + 1) * row.keys).reduce((a, b) => a + b, 0));

describe('decodeWithAttention', () => {
  it('encoder–decoder: the same tokens as runtime-onnx translate, with one attention row per step and layer', async () => {
    const { folder, sessions } = await load('encoder-decoder');
    if (sessions.kind !== 'seq2seq') throw new Error('unreachable');
    const c = configAs(folder.config, ['encoder-decoder'], 'the encoder–decoder test');
    let longest = 0;
    for (const text of ['abc', 'fedcba', 'a']) {
      const { ids } = encodeInput(textTokenizer(folder), c, text);
      const [expected] = await translate(sessions, { ids, batchSize: 1, seqLen: ids.length }, { maxNewTokens: c.maxSeqLen - 1 });
      const seen: number[] = [];
      const result = await decodeWithAttention(sessions, c, ids, { onStep: (s) => seen.push(s.token) });
      expect(result.output).toEqual(expected);
      longest = Math.max(longest, result.steps.length);
      expect(seen).toEqual(result.steps.map((s) => s.token));
      expect(result.steps.length).toBe(result.output.length + (result.finishReason === 'eos' ? 1 : 0));
      expect(result.decoderInputs).toEqual([c.bosTokenId, ...result.steps.slice(0, -1).map((s) => s.token)]);
      expect(result.encoder).toHaveLength(c.numEncoderLayers);
      for (const layer of result.encoder) expect(layer.data).toHaveLength(c.numHeads * ids.length * ids.length);
      result.steps.forEach((step, t) => {
        expect(step.cross).toHaveLength(c.numDecoderLayers);
        expect(step.self).toHaveLength(c.numDecoderLayers);
        for (const row of step.cross) {
          expect([row.heads, row.keys]).toEqual([c.numHeads, ids.length]);
          for (const s of rowSums(row)) expect(s).toBeCloseTo(1, 5);
        }
        for (const row of step.self) {
          expect([row.heads, row.keys]).toEqual([c.numHeads, t + 1]);
          for (const s of rowSums(row)) expect(s).toBeCloseTo(1, 5);
        }
        expect(step.ms).toBeGreaterThanOrEqual(0);
      });
    }
    expect(longest).toBeGreaterThan(2); // the random model says something before eos
    const limited = await decodeWithAttention(sessions, c, encodeInput(textTokenizer(folder), c, 'abcdef').ids, { maxNewTokens: 2 });
    expect(limited.steps.length).toBeLessThanOrEqual(2);
  });

  it('rnn-seq2seq: the same tokens and attention rows as runtime-onnx translateRnnWithAttention, one head over the source per step', async () => {
    const { folder, sessions } = await load('rnn-seq2seq');
    if (sessions.kind !== 'rnn') throw new Error('unreachable');
    const c = configAs(folder.config, ['rnn-seq2seq'], 'the rnn-seq2seq test');
    let longest = 0;
    const finished = new Set<string>();
    for (const text of ['abc', 'fedcba', 'a']) {
      const { ids } = encodeInput(textTokenizer(folder), c, text);
      const expected = await translateRnnWithAttention(sessions, { ids, batchSize: 1, seqLen: ids.length }, { maxNewTokens: c.maxSeqLen - 1 });
      const result = await decodeWithAttention(sessions, c, ids);
      expect(result.output).toEqual(expected.ids[0]);
      longest = Math.max(longest, result.steps.length);
      finished.add(result.finishReason);
      expect(result.encoder).toEqual([]);
      expect(result.steps.map((s) => Array.from(s.cross[0]!.data))).toEqual(expected.attention[0]!.map((w) => Array.from(w)));
      for (const step of result.steps) {
        expect(step.self).toEqual([]);
        expect([step.cross.length, step.cross[0]!.heads, step.cross[0]!.keys]).toEqual([1, 1, ids.length]);
        expect(rowSums(step.cross[0]!)[0]).toBeCloseTo(1, 5);
      }
    }
    expect(longest).toBeGreaterThan(2);
    expect([...finished].sort()).toEqual(['context', 'eos']); // stopped by eos, and by the model's context
  });

  it('decoder-lm: the same tokens as runtime-onnx generate, the prompt row over the whole prompt', async () => {
    const { folder, sessions } = await load('decoder-lm');
    if (sessions.kind !== 'lm') throw new Error('unreachable');
    const c = configAs(folder.config, ['decoder-lm'], 'the decoder-lm test');
    const { ids } = encodeInput(textTokenizer(folder), c, 'bad');
    const [expected] = await generate(sessions.model, { prompts: [ids], maxNewTokens: c.maxSeqLen - ids.length });
    const result = await decodeWithAttention(sessions, c, ids);
    expect(result.output).toEqual(expected);
    expect(result.steps.length).toBeGreaterThan(2);
    expect(result.steps[0]!.self[0]!.keys).toBe(ids.length); // the prompt, no bos
    result.steps.forEach((step, t) => {
      expect(step.cross).toEqual([]);
      for (const row of step.self) {
        expect(row.keys).toBe(ids.length + t);
        for (const s of rowSums(row)) expect(s).toBeCloseTo(1, 5);
      }
    });
    expect(result.decoderInputs).toEqual([...ids, ...result.steps.slice(0, -1).map((s) => s.token)]);
  });
});

describe('decodeWithAttention with sampling', () => {
  const inputs = ['abc', 'fedcba', 'a'];
  // Hot enough that some seed leaves the greedy path on the tiny random models.
  const strategies = (seed: number): DecodeStrategy[] => [
    { kind: 'sample', seed, temperature: 1.5 },
    { kind: 'sample', seed, temperature: 0.8, topK: 3, topP: 0.9 },
  ];

  /** Decodes every input with every strategy and seeds 1..4: runtime-onnx's ids, the playground's result, and greedy. */
  async function compare(preset: 'encoder-decoder' | 'decoder-lm' | 'rnn-seq2seq', reference: (sessions: Sessions, ids: number[], maxNewTokens: number, strategy: DecodeStrategy) => Promise<number[]>): Promise<void> {
    const { folder, sessions } = await load(preset);
    const c = configAs(folder.config, [preset], 'the sampling test');
    let leftGreedy = false;
    for (const text of inputs) {
      const { ids } = encodeInput(textTokenizer(folder), c, text);
      const maxNewTokens = c.maxSeqLen - (preset === 'decoder-lm' ? ids.length : 1);
      const greedy = await decodeWithAttention(sessions, c, ids, { maxNewTokens });
      for (const seed of [1, 2, 3, 4]) {
        for (const strategy of strategies(seed)) {
          const result = await decodeWithAttention(sessions, c, ids, { maxNewTokens, strategy });
          expect(result.output, `${text} ${JSON.stringify(strategy)}`).toEqual(await reference(sessions, ids, maxNewTokens, strategy));
          expect((await decodeWithAttention(sessions, c, ids, { maxNewTokens, strategy })).output).toEqual(result.output); // the seed decides
          expect(result.steps.length).toBe(result.output.length + (result.finishReason === 'eos' ? 1 : 0));
          for (const step of result.steps) for (const row of [...step.self, ...step.cross]) for (const s of rowSums(row)) expect(s).toBeCloseTo(1, 5);
          if (result.output.join() !== greedy.output.join()) leftGreedy = true;
        }
      }
    }
    expect(leftGreedy).toBe(true);
  }

  it('encoder–decoder: the same tokens as runtime-onnx translate with the same strategy and seed', async () => {
    await compare('encoder-decoder', async (sessions, ids, maxNewTokens, strategy) => {
      if (sessions.kind !== 'seq2seq') throw new Error('unreachable');
      return (await translate(sessions, { ids, batchSize: 1, seqLen: ids.length }, { maxNewTokens, strategy }))[0]!;
    });
  });

  it('rnn-seq2seq: the same tokens as runtime-onnx translateRnn with the same strategy and seed', async () => {
    await compare('rnn-seq2seq', async (sessions, ids, maxNewTokens, strategy) => {
      if (sessions.kind !== 'rnn') throw new Error('unreachable');
      return (await translateRnn(sessions, { ids, batchSize: 1, seqLen: ids.length }, { maxNewTokens, strategy }))[0]!;
    });
  });

  it('decoder-lm: the same tokens as runtime-onnx generate with the same strategy and seed', async () => {
    await compare('decoder-lm', async (sessions, ids, maxNewTokens, strategy) => {
      if (sessions.kind !== 'lm') throw new Error('unreachable');
      return (await generate(sessions.model, { prompts: [ids], maxNewTokens, strategy }))[0]!;
    });
  });

  it('rejects beam search, which has no steps to stream', async () => {
    const { folder, sessions } = await load('encoder-decoder');
    const c = configAs(folder.config, ['encoder-decoder'], 'the beam test');
    await expect(decodeWithAttention(sessions, c, [4, 5], { strategy: { kind: 'beam', beamSize: 2 } })).rejects.toThrow(InputError);
  });
});

describe('encodeInput', () => {
  it('rejects empty and too-long inputs with the limit, and lists unknown characters', async () => {
    const folder = await readModelFolder(memoryFolderFiles(await tinyExport('encoder-decoder')), '');
    const c = configAs(folder.config, ['encoder-decoder'], 'the encodeInput test'); // maxSeqLen 12
    expect(() => encodeInput(textTokenizer(folder), c, '  ')).toThrow(new InputError('the input is empty; type some text'));
    expect(() => encodeInput(textTokenizer(folder), c, 'a'.repeat(13))).toThrow(new InputError('the input is 13 tokens long; this model takes at most 12 (maxSeqLen 12)'));
    expect(encodeInput(textTokenizer(folder), c, 'a'.repeat(12)).ids).toHaveLength(12);
    expect(encodeInput(textTokenizer(folder), c, 'abz!z').unknown).toEqual(['z', '!']);
    const lm = await readModelFolder(memoryFolderFiles(await tinyExport('decoder-lm')), '');
    expect(() => encodeInput(textTokenizer(lm), configAs(lm.config, ['decoder-lm'], 'the encodeInput test'), 'a'.repeat(12))).toThrow(/^the input is 12 tokens long; this model takes at most 11 \(maxSeqLen 12\)$/);
  });
});
