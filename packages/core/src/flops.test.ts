import { describe, expect, it } from 'vitest';
import { createModelConfig } from './config.js';
import { ConfigError } from './errors.js';
import { flopsPerToken } from './flops.js';

describe('flopsPerToken', () => {
  it('counts a decoder-lm layer by hand: 24·d² + 4·n·d, plus 2·d·V for the head', () => {
    const config = createModelConfig({ preset: 'decoder-lm', vocabSize: 100, dModel: 16, numHeads: 2, numDecoderLayers: 2, dFf: 64, maxSeqLen: 8 });
    const f = flopsPerToken(config);
    // attention: q,k,v,o 4·2·16² = 2048; scores 2·8·16 = 256; weighted sum 256
    expect(f.modules).toEqual([
      { module: 'decoder.layers.0.self_attn', flops: 2560 },
      { module: 'decoder.layers.0.fc1+fc2', flops: 4096 },
      { module: 'decoder.layers.1.self_attn', flops: 2560 },
      { module: 'decoder.layers.1.fc1+fc2', flops: 4096 },
      { module: 'lm_head', flops: 3200 },
    ]);
    expect(f.total).toBe(2 * (2560 + 4096) + 3200);
    expect(f.contextLength).toBe(8);
  });

  it('matches nanoGPT’s forward estimate 2·N + 4·L·n·d (a third of its 6N + 12·L·H·Q·T) plus the head', () => {
    const config = createModelConfig({ preset: 'decoder-lm', vocabSize: 50, dModel: 32, numHeads: 4, numDecoderLayers: 3, dFf: 128, maxSeqLen: 64 });
    const { total } = flopsPerToken(config, { contextLength: 20 });
    const nonEmbedding = 3 * (4 * 32 * 32 + 2 * 32 * 128); // Kaplan's N without embeddings
    expect(total).toBe(2 * nonEmbedding + 2 * 3 * 20 * 32 * 2 + 2 * 32 * 50);
  });

  it('gives the encoder-decoder cross-attention over the source length, and the classifier its head', () => {
    const seq = createModelConfig({ preset: 'encoder-decoder', vocabSize: 40, dModel: 8, numHeads: 2, numEncoderLayers: 1, numDecoderLayers: 1, dFf: 16, maxSeqLen: 10 });
    const f = flopsPerToken(seq, { contextLength: 4, sourceLength: 6 });
    expect(f.modules.map((m) => m.module)).toEqual(['encoder.layers.0.self_attn', 'encoder.layers.0.fc1+fc2', 'decoder.layers.0.self_attn', 'decoder.layers.0.encoder_attn', 'decoder.layers.0.fc1+fc2', 'lm_head']);
    expect(f.modules[3]!.flops).toBe(8 * 8 * 8 + 4 * 6 * 8);
    const cls = createModelConfig({ preset: 'encoder-classifier', vocabSize: 40, numClasses: 3, dModel: 8, numHeads: 2, numEncoderLayers: 1, dFf: 16, maxSeqLen: 10 });
    expect(flopsPerToken(cls).modules.at(-1)).toEqual({ module: 'classifier', flops: 2 * 8 * 3 });
    const pooled = flopsPerToken({ ...cls, pooler: true }).modules;
    expect(pooled.slice(-2)).toEqual([{ module: 'pooler', flops: 2 * 8 * 8 }, { module: 'classifier', flops: 2 * 8 * 3 }]);
  });

  it('counts the GRU encoder–decoder: gates per layer and direction, attention over the source, combination, output', () => {
    const base = { preset: 'rnn-seq2seq', vocabSize: 50, dModel: 8, numEncoderLayers: 2, numDecoderLayers: 1, maxSeqLen: 12 } as const;
    const none = flopsPerToken(createModelConfig({ ...base, rnnAttention: 'none', rnnBidirectional: true }), { sourceLength: 6 });
    expect(none.modules).toEqual([
      { module: 'encoder.rnn.l0', flops: 2 * (2 * 3 * 4 * (8 + 4)) }, // two directions of 4 units
      { module: 'encoder.rnn.l1', flops: 2 * (2 * 3 * 4 * (8 + 4)) },
      { module: 'decoder.rnn.l0', flops: 2 * 3 * 8 * (8 + 8) }, // reads e_t only
      { module: 'lm_head', flops: 2 * 8 * 50 },
    ]);
    const additive = flopsPerToken(createModelConfig({ ...base, rnnAttention: 'additive', rnnBidirectional: false }), { sourceLength: 6 });
    const by = Object.fromEntries(additive.modules.map((m) => [m.module, m.flops]));
    expect(by['encoder.rnn.l0']).toBe(2 * 3 * 8 * (8 + 8));
    expect(by['decoder.attention.score.key']).toBe(2 * 8 * 8);
    expect(by['decoder.rnn.l0']).toBe(2 * 3 * 8 * (16 + 8)); // reads [e_t; c_t]
    expect(by['decoder.attention']).toBe(2 * 8 * 8 + 2 * 6 * 8 + 2 * 6 * 8);
    expect(by['decoder.attention_combine']).toBe(2 * 16 * 8);
    const dot = flopsPerToken(createModelConfig({ ...base, rnnAttention: 'dot' }), { sourceLength: 6 }).modules.find((m) => m.module === 'decoder.attention');
    expect(dot!.flops).toBe(2 * 6 * 8 + 2 * 6 * 8);
    const local = flopsPerToken(createModelConfig({ ...base, rnnAttention: 'local-p', localWindow: 2 }), { sourceLength: 6 }).modules.find((m) => m.module === 'decoder.attention');
    expect(local!.flops).toBe(2 * 8 * 8 + 2 * 6 * 8 + (2 * 8 * 8 + 2 * 8) + 2 * 6 * 8);
    const lstm = flopsPerToken(createModelConfig({ ...base, rnnCell: 'lstm', rnnAttention: 'none', rnnBidirectional: false }), { sourceLength: 6 });
    expect(lstm.modules[0]).toEqual({ module: 'encoder.rnn.l0', flops: 2 * 4 * 8 * (8 + 8) }); // four gates
  });

  it('gives the vit-classifier its patch embedding (C·p·p → d) and classifier head, and no lm_head', () => {
    const vit = createModelConfig({ preset: 'vit-classifier', numClasses: 10, dModel: 8, numHeads: 2, numEncoderLayers: 1, dFf: 16, imageSize: 8, patchSize: 2, numChannels: 3 });
    const f = flopsPerToken(vit);
    expect(f.modules.map((m) => m.module)).toEqual(['embeddings.patch_embeddings', 'encoder.layers.0.self_attn', 'encoder.layers.0.fc1+fc2', 'classifier']);
    expect(f.modules[0]!.flops).toBe(2 * 3 * 2 * 2 * 8);
    expect(f.modules[1]!.flops).toBe(8 * 8 * 8 + 4 * 17 * 8); // 16 patches + CLS
    expect(f.modules[3]!.flops).toBe(2 * 8 * 10);
  });

  it('adds the score functions’ own products and rejects a bad context length', () => {
    const base = { preset: 'decoder-lm', vocabSize: 10, dModel: 8, numHeads: 2, numDecoderLayers: 1, dFf: 16, maxSeqLen: 4 } as const;
    const dot = flopsPerToken(createModelConfig(base)).modules[0]!.flops;
    expect(flopsPerToken(createModelConfig({ ...base, attention: 'general' })).modules[0]!.flops).toBe(dot + 2 * 8 * 4);
    expect(flopsPerToken(createModelConfig({ ...base, attention: 'additive' })).modules[0]!.flops).toBe(dot + 4 * 8 * 4);
    expect(() => flopsPerToken(createModelConfig(base), { contextLength: 0 })).toThrow(ConfigError);
  });
});
