import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { readFileSync, readdirSync } from 'node:fs';
import {
  closest,
  createModelConfig,
  headDim,
  parseModelConfig,
  type ModelConfig,
  type ModelConfigInput,
} from './config.js';
import { ACTIVATIONS, NORM_PLACEMENTS, POOLINGS, SCORE_FUNCTIONS } from './models/fields.js';
import { MODEL_KINDS, hasTokens } from './models/registry.js';
import { RNN_ATTENTIONS } from './models/rnn-seq2seq/config.js';
import { numPatches } from './models/vit-classifier/config.js';
import { AttendError, ConfigError } from './errors.js';

/** Runs `fn`, expects a ConfigError and returns it for field/message assertions. */
function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    expect(error).toBeInstanceOf(AttendError);
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError, but nothing was thrown');
}

/** createModelConfig with a bad override; the cast lets tests pass values the type forbids. */
function createError(overrides: Record<string, unknown>): ConfigError {
  return configError(() => createModelConfig({ preset: 'decoder-lm', vocabSize: 100, ...overrides } as ModelConfigInput));
}

/** A complete, valid decoder-lm config as a plain record, for parseModelConfig tests. */
function validRecord(): Record<string, unknown> {
  return { ...createModelConfig({ preset: 'decoder-lm', vocabSize: 100 }) };
}

function expectMessage(error: ConfigError, ...parts: string[]): void {
  expect(error.message.startsWith(`${error.field}: `)).toBe(true);
  for (const part of parts) expect(error.message).toContain(part);
}

const shared = {
  vocabSize: 100,
  dModel: 128,
  numHeads: 4,
  dFf: 512,
  maxSeqLen: 128,
  dropout: 0.1,
  norm: 'pre',
  activation: 'gelu',
  positional: 'sinusoidal',
  attention: 'scaled_dot',
  localWindow: null,
  scaleEmbedding: true,
  embeddingNorm: false,
  layerNormEps: 1e-5,
  padTokenId: 0,
  bosTokenId: 1,
  eosTokenId: 2,
} as const;

describe('createModelConfig defaults', () => {
  it('decoder-lm: decoder layers only, no classes', () => {
    expect(createModelConfig({ preset: 'decoder-lm', vocabSize: 100 })).toEqual({
      ...shared,
      preset: 'decoder-lm',
      tieEmbeddings: true,
      numDecoderLayers: 2,
    });
  });

  it('encoder-decoder: both stacks', () => {
    expect(createModelConfig({ preset: 'encoder-decoder', vocabSize: 100 })).toEqual({
      ...shared,
      preset: 'encoder-decoder',
      tieEmbeddings: true,
      logitsBias: false,
      numEncoderLayers: 2,
      numDecoderLayers: 2,
    });
  });

  it('encoder-classifier: encoder layers only, keeps the given numClasses', () => {
    expect(createModelConfig({ preset: 'encoder-classifier', vocabSize: 100, numClasses: 3 })).toEqual({
      ...shared,
      preset: 'encoder-classifier',
      numClasses: 3,
      numEncoderLayers: 2,
      pooling: 'mean',
      pooler: false,
      typeVocabSize: 0,
    });
  });

  it('encoder-classifier has no default class count: numClasses must be given', () => {
    const error = configError(() => createModelConfig({ preset: 'encoder-classifier', vocabSize: 100 }));
    expect(error.field).toBe('numClasses');
    expectMessage(error, 'missing', "'encoder-classifier'");
  });

  it('overrides win over defaults; undefined overrides keep the default', () => {
    const config = createModelConfig({ preset: 'decoder-lm', vocabSize: 50, dModel: 64, numHeads: 8, dropout: undefined, localWindow: 16 });
    expect(config.dModel).toBe(64);
    expect(config.numHeads).toBe(8);
    expect(config.dropout).toBe(0.1);
    expect(config.localWindow).toBe(16);
    expect(headDim(config)).toBe(8);
  });

  it('returns a fresh object each call', () => {
    const a = createModelConfig({ preset: 'decoder-lm', vocabSize: 100 });
    a.dModel = 1;
    expect(createModelConfig({ preset: 'decoder-lm', vocabSize: 100 }).dModel).toBe(128);
  });

  it('accepts the edges of the allowed ranges', () => {
    expect(createModelConfig({ preset: 'decoder-lm', vocabSize: 3, dropout: 0 }).dropout).toBe(0);
    expect(createModelConfig({ preset: 'decoder-lm', vocabSize: 100, dropout: 0.999 }).dropout).toBe(0.999);
    expect(createModelConfig({ preset: 'decoder-lm', vocabSize: 100, localWindow: 127 }).localWindow).toBe(127);
    expect(createModelConfig({ preset: 'decoder-lm', vocabSize: 3, eosTokenId: 2 }).eosTokenId).toBe(2);
    expect(createModelConfig({ preset: 'encoder-classifier', vocabSize: 100, numClasses: 2 }).numClasses).toBe(2);
  });
});

/** Valid configs of every preset, built so that all cross-field rules hold. */
const validConfig: fc.Arbitrary<ModelConfig> = fc
  .record({
    preset: fc.constantFrom('encoder-classifier', 'decoder-lm', 'encoder-decoder' as const),
    numHeads: fc.integer({ min: 1, max: 8 }),
    halfHead: fc.integer({ min: 1, max: 16 }),
    layers: fc.integer({ min: 1, max: 6 }),
    numClasses: fc.integer({ min: 2, max: 50 }),
    vocabSize: fc.integer({ min: 3, max: 70_000 }),
    dFf: fc.integer({ min: 1, max: 4096 }),
    maxSeqLen: fc.integer({ min: 2, max: 4096 }),
    window: fc.option(fc.integer({ min: 1, max: 4095 }), { nil: null }),
    dropout: fc.double({ min: 0, max: 0.99, noNaN: true }),
    layerNormEps: fc.double({ min: 1e-12, max: 0.5, noNaN: true }),
    norm: fc.constantFrom(...NORM_PLACEMENTS),
    activation: fc.constantFrom(...ACTIVATIONS),
    positional: fc.constantFrom('sinusoidal', 'learned', 'rope', 'alibi' as const),
    attention: fc.constantFrom(...SCORE_FUNCTIONS),
    pooling: fc.constantFrom(...POOLINGS),
    tieEmbeddings: fc.boolean(),
    scaleEmbedding: fc.boolean(),
    embeddingNorm: fc.boolean(),
    pooler: fc.boolean(),
    typeVocabSize: fc.integer({ min: 0, max: 4 }),
  })
  .map((r): ModelConfig => ({
    vocabSize: r.vocabSize,
    dModel: r.numHeads * r.halfHead * 2,
    numHeads: r.numHeads,
    dFf: r.dFf,
    maxSeqLen: r.maxSeqLen,
    dropout: r.dropout,
    norm: r.norm,
    activation: r.activation,
    positional: r.positional,
    attention: r.attention,
    localWindow: r.window === null ? null : Math.min(r.window, r.maxSeqLen - 1),
    scaleEmbedding: r.scaleEmbedding,
    embeddingNorm: r.embeddingNorm,
    layerNormEps: r.layerNormEps,
    padTokenId: 0,
    bosTokenId: 1,
    eosTokenId: r.vocabSize - 1,
    ...(r.preset === 'encoder-classifier'
      ? { preset: r.preset, numClasses: r.numClasses, numEncoderLayers: r.layers, pooling: r.pooling, pooler: r.pooler, typeVocabSize: r.typeVocabSize }
      : r.preset === 'decoder-lm'
        ? { preset: r.preset, numDecoderLayers: r.layers, tieEmbeddings: r.tieEmbeddings }
        : { preset: r.preset, numEncoderLayers: r.layers, numDecoderLayers: r.layers, tieEmbeddings: r.tieEmbeddings, logitsBias: r.tieEmbeddings }),
  }));

describe('parseModelConfig', () => {
  it('round trips: parse(JSON.stringify(config)) equals config', () => {
    fc.assert(
      fc.property(validConfig, (config) => {
        expect(parseModelConfig(JSON.stringify(config))).toEqual(config);
        expect(createModelConfig(config)).toEqual(config);
      }),
    );
  });

  it('any JSON, or a valid config with one field replaced by any JSON, parses or is one ConfigError line naming the source (property)', () => {
    const check = (text: string): void => {
      try {
        const config = parseModelConfig(text, 'p/config.json');
        expect(createModelConfig(config)).toEqual(config); // what parses is valid
      } catch (error) {
        expect(error).toBeInstanceOf(ConfigError);
        const message = (error as ConfigError).message;
        expect(message.startsWith('p/config.json')).toBe(true);
        expect(message).not.toContain('\n');
      }
    };
    fc.assert(fc.property(fc.jsonValue(), (json) => check(JSON.stringify(json))), { numRuns: 300 });
    const fields = Object.keys(validRecord());
    fc.assert(
      fc.property(validConfig, fc.constantFrom(...fields), fc.jsonValue(), (config, field, value) => {
        check(JSON.stringify({ ...config, [field]: value }));
      }),
      { numRuns: 500 },
    );
    fc.assert(fc.property(fc.string({ unit: 'binary', maxLength: 200 }), (text) => check(text)), { numRuns: 200 });
  });

  it('accepts an already parsed object and returns a copy', () => {
    const record = validRecord();
    const config = parseModelConfig(record);
    expect(config).toEqual(record);
    expect(config).not.toBe(record);
  });

  it('invalid JSON text names the source file', () => {
    const error = configError(() => parseModelConfig('{"preset": "decoder-lm",', 'runs/lm/config.json'));
    expect(error.field).toBe('runs/lm/config.json');
    expectMessage(error, 'not valid JSON');
  });

  it('JSON that is not an object names the source and what it got', () => {
    expect(configError(() => parseModelConfig('[1, 2]')).message).toBe('config.json: expected a JSON object, got an array');
    expect(configError(() => parseModelConfig('null', 'a.json')).message).toBe('a.json: expected a JSON object, got null');
    expect(configError(() => parseModelConfig('7')).field).toBe('config.json');
  });

  it('a bad field is reported as "<source>: <field>" with the original explanation', () => {
    const error = configError(() => parseModelConfig(JSON.stringify({ ...validRecord(), dModel: 100, numHeads: 3 }), 'model/config.json'));
    expect(error.field).toBe('model/config.json: dModel');
    expect(error.message).toBe('model/config.json: dModel: 100 is not divisible by numHeads=3; choose dModel as a multiple of numHeads');
  });

  it('a missing field is an error naming it', () => {
    for (const field of ['dropout', 'localWindow', 'preset', 'eosTokenId']) {
      const record = validRecord();
      delete record[field];
      const error = configError(() => parseModelConfig(JSON.stringify(record)));
      expect(error.field).toBe(`config.json: ${field}`);
      expectMessage(error, 'missing');
    }
  });

  it('a config.json written before scaleEmbedding existed means the √dModel factor', () => {
    const record = validRecord();
    delete record.scaleEmbedding;
    expect(parseModelConfig(JSON.stringify(record))).toMatchObject({ scaleEmbedding: true });
    expect(parseModelConfig(JSON.stringify({ ...record, scaleEmbedding: false }))).toMatchObject({ scaleEmbedding: false });
    expect(configError(() => parseModelConfig(JSON.stringify({ ...record, scaleEmbedding: 'no' }))).field).toBe('config.json: scaleEmbedding');
  });

  it('an unknown field is an error with a "did you mean" hint', () => {
    const record: Record<string, unknown> = { ...validRecord(), dmodel: 64 };
    delete record.dModel;
    const error = configError(() => parseModelConfig(JSON.stringify(record)));
    expect(error.field).toBe('config.json: dmodel');
    expectMessage(error, "unknown field for preset 'decoder-lm'", "did you mean 'dModel'?", 'known: preset, vocabSize');
  });

  it('an unknown preset lists the allowed ones', () => {
    const error = configError(() => parseModelConfig(JSON.stringify({ ...validRecord(), preset: 'gpt' })));
    expect(error.field).toBe('config.json: preset');
    expectMessage(error, '"gpt"', 'encoder-classifier, decoder-lm, encoder-decoder');
  });
});

describe('bad values give a ConfigError naming field, value and what is allowed', () => {
  it('dModel not divisible by numHeads', () => {
    const error = createError({ dModel: 100, numHeads: 3 });
    expect(error.field).toBe('dModel');
    expectMessage(error, '100', 'numHeads=3', 'multiple of numHeads');
  });

  it('odd head size with rope', () => {
    const error = createError({ dModel: 12, numHeads: 4, positional: 'rope' });
    expect(error.field).toBe('positional');
    expectMessage(error, "'rope'", 'even head size', '= 3');
    // The same shape is fine with an even head size, or without rope.
    expect(createModelConfig({ preset: 'decoder-lm', vocabSize: 100, dModel: 12, numHeads: 2, positional: 'rope' }).positional).toBe('rope');
    expect(createModelConfig({ preset: 'decoder-lm', vocabSize: 100, dModel: 12, numHeads: 4, positional: 'learned' }).dModel).toBe(12);
  });

  it('odd dModel with sinusoidal positions', () => {
    const error = createError({ dModel: 9, numHeads: 3 });
    expect(error.field).toBe('dModel');
    expectMessage(error, '9', 'even', "'sinusoidal'");
    expect(createModelConfig({ preset: 'decoder-lm', vocabSize: 100, dModel: 9, numHeads: 3, positional: 'alibi' }).dModel).toBe(9);
  });

  it('unknown preset', () => {
    const error = configError(() => createModelConfig({ preset: 'bert', vocabSize: 100 } as unknown as ModelConfigInput));
    expect(error.field).toBe('preset');
    expectMessage(error, '"bert"', 'not a preset', 'allowed: encoder-classifier, decoder-lm, encoder-decoder');
  });

  it('unknown fields: hints for typos, none for unrelated names', () => {
    const typo = createError({ dmodel: 64 });
    expect(typo.field).toBe('dmodel');
    expectMessage(typo, 'unknown field', "did you mean 'dModel'?");

    const plural = createError({ numHead: 4 });
    expect(plural.field).toBe('numHead');
    expectMessage(plural, "did you mean 'numHeads'?");

    const snake = createError({ d_ff: 256 });
    expect(snake.field).toBe('d_ff');
    expectMessage(snake, "did you mean 'dFf'?");

    const unrelated = createError({ learningRate: 0.001 });
    expect(unrelated.field).toBe('learningRate');
    expect(unrelated.message).not.toContain('did you mean');
    expectMessage(unrelated, 'unknown field', 'known: preset, vocabSize, padTokenId, bosTokenId, eosTokenId, dModel');
  });

  it('wrong types', () => {
    const cases: [string, unknown, string[]][] = [
      ['vocabSize', '100', ['"100"', 'integer >= 1']],
      ['numHeads', 2.5, ['2.5', 'integer >= 1']],
      ['numDecoderLayers', [2], ['an array', 'integer >= 1']],
      ['dFf', null, ['null', 'integer >= 1']],
      ['maxSeqLen', Number.NaN, ['NaN', 'integer']],
      ['dropout', '0.1', ['"0.1"', 'number in [0, 1)']],
      ['layerNormEps', Number.POSITIVE_INFINITY, ['Infinity', 'number in [0, 1)']],
      ['tieEmbeddings', 'yes', ['"yes"', 'true or false']],
      ['tieEmbeddings', 1, ['1', 'true or false']],
      ['norm', 'middle', ['"middle"', 'one of pre, post']],
      ['activation', 'silu', ['"silu"', 'one of relu, gelu, gelu_new, swish']],
      ['positional', 'absolute', ['"absolute"', 'one of sinusoidal, sinusoidal_split, learned, rope, alibi']],
      ['attention', { kind: 'dot' }, ['an object', 'one of scaled_dot, dot, general, additive, cosine']],
      ['localWindow', 'none', ['"none"', 'integer >= 1']],
      ['localWindow', 0, ['0', 'integer >= 1']],
      ['padTokenId', -1, ['-1', 'integer >= 0']],
    ];
    for (const [field, value, parts] of cases) {
      const error = createError({ [field]: value });
      expect(error.field, `${field}=${String(value)}`).toBe(field);
      expectMessage(error, ...parts);
    }
  });

  it('dropout must be in [0, 1)', () => {
    for (const dropout of [1, 1.5, -0.1]) {
      const error = createError({ dropout });
      expect(error.field).toBe('dropout');
      expectMessage(error, `${dropout} is not allowed`, '[0, 1)');
    }
  });

  it('layerNormEps must be > 0', () => {
    const error = createError({ layerNormEps: 0 });
    expect(error.field).toBe('layerNormEps');
    expectMessage(error, '> 0', 'got 0');
  });

  it('token ids must lie inside the vocabulary', () => {
    const eos = createError({ vocabSize: 2 });
    expect(eos.field).toBe('eosTokenId');
    expectMessage(eos, '2 is outside the vocabulary [0, 2)');

    const pad = createError({ vocabSize: 100, padTokenId: 100 });
    expect(pad.field).toBe('padTokenId');
    expectMessage(pad, '100', '[0, 100)');

    const bos = createError({ vocabSize: 10, bosTokenId: 12 });
    expect(bos.field).toBe('bosTokenId');
    expectMessage(bos, '12', '[0, 10)');
  });

  it('classifier with fewer than 2 classes; classes on other presets', () => {
    const one = configError(() => createModelConfig({ preset: 'encoder-classifier', vocabSize: 100, numClasses: 1 }));
    expect(one.field).toBe('numClasses');
    expectMessage(one, 'at least 2 classes', 'got 1');
    const pooling = configError(() => createModelConfig({ preset: 'encoder-classifier', vocabSize: 100, numClasses: 2, pooling: 'max' as never }));
    expect(pooling.field).toBe('pooling');
    expectMessage(pooling, '"max"', 'one of mean, cls');

    const lm = createError({ numClasses: 3 });
    expect(lm.field).toBe('numClasses');
    expectMessage(lm, "preset 'decoder-lm' has no such field", 'encoder-classifier, vit-classifier');
  });

  it('layer counts must match the preset', () => {
    const lmWithEncoder = createError({ numEncoderLayers: 2 });
    expect(lmWithEncoder.field).toBe('numEncoderLayers');
    expectMessage(lmWithEncoder, "preset 'decoder-lm' has no such field");

    const lmWithoutDecoder = createError({ numDecoderLayers: 0 });
    expect(lmWithoutDecoder.field).toBe('numDecoderLayers');
    expectMessage(lmWithoutDecoder, 'at least 1', 'got 0');

    const classifierWithDecoder = configError(() =>
      createModelConfig({ preset: 'encoder-classifier', vocabSize: 100, numClasses: 2, numDecoderLayers: 1 } as ModelConfigInput),
    );
    expect(classifierWithDecoder.field).toBe('numDecoderLayers');
    expectMessage(classifierWithDecoder, "preset 'encoder-classifier' has no such field");

    const seq2seqWithoutEncoder = configError(() => createModelConfig({ preset: 'encoder-decoder', vocabSize: 100, numEncoderLayers: 0 }));
    expect(seq2seqWithoutEncoder.field).toBe('numEncoderLayers');
    expectMessage(seq2seqWithoutEncoder, 'at least 1', 'got 0');
  });

  it('localWindow must be smaller than maxSeqLen', () => {
    for (const localWindow of [64, 65, 1000]) {
      const error = createError({ maxSeqLen: 64, localWindow });
      expect(error.field).toBe('localWindow');
      expectMessage(error, `${localWindow} covers the whole sequence`, 'maxSeqLen=64', 'use null');
    }
  });

  it('a non-object config', () => {
    const error = configError(() => parseModelConfig('"decoder-lm"'));
    expect(error.field).toBe('config.json');
    expectMessage(error, 'expected a JSON object', '"decoder-lm"');
  });
});

describe('closest', () => {
  it('finds case-insensitive near misses and rejects distant words', () => {
    expect(closest('DMODEL', ['dModel', 'dFf'])).toBe('dModel');
    expect(closest('maxSeqLength', ['maxSeqLen', 'dModel'])).toBe('maxSeqLen');
    expect(closest('xyz', ['dModel', 'numHeads'])).toBeUndefined();
    expect(closest('anything', [])).toBeUndefined();
  });
});

describe('rnn-seq2seq preset', () => {
  it('defaults: one GRU layer per side, bidirectional encoder, general attention', () => {
    const config = createModelConfig({ preset: 'rnn-seq2seq', vocabSize: 40 });
    expect(config).toMatchObject({ numEncoderLayers: 1, numDecoderLayers: 1, rnnCell: 'gru', rnnAttention: 'general', rnnBidirectional: true, localWindow: null });
    expect(parseModelConfig(JSON.stringify(config))).toEqual(config);
  });

  it('every rnnAttention is accepted; local-p needs localWindow and the others refuse it', () => {
    for (const rnnAttention of RNN_ATTENTIONS) {
      const localWindow = rnnAttention === 'local-p' ? 3 : null;
      expect(createModelConfig({ preset: 'rnn-seq2seq', vocabSize: 40, rnnAttention, localWindow }).rnnAttention).toBe(rnnAttention);
    }
    const noWindow = configError(() => createModelConfig({ preset: 'rnn-seq2seq', vocabSize: 40, rnnAttention: 'local-p' }));
    expect(noWindow.field).toBe('localWindow');
    expectMessage(noWindow, "'local-p' needs the window half-width D", 'got null');
    const stray = configError(() => createModelConfig({ preset: 'rnn-seq2seq', vocabSize: 40, rnnAttention: 'dot', localWindow: 2 }));
    expect(stray.field).toBe('localWindow');
    expectMessage(stray, "only used by rnnAttention 'local-p'", "'dot'");
  });

  it('bad values name the field and the allowed values', () => {
    const attention = configError(() => createModelConfig({ preset: 'rnn-seq2seq', vocabSize: 40, rnnAttention: 'bahdanau' as never }));
    expect(attention.field).toBe('rnnAttention');
    expectMessage(attention, '"bahdanau"', 'none, additive, dot, general, concat, local-p');
    const cell = configError(() => createModelConfig({ preset: 'rnn-seq2seq', vocabSize: 40, rnnCell: 'rnn' as never }));
    expect(cell.field).toBe('rnnCell');
    expectMessage(cell, '"rnn"', 'gru, lstm');
    expect(createModelConfig({ preset: 'rnn-seq2seq', vocabSize: 40, rnnCell: 'lstm' }).rnnCell).toBe('lstm');
    const odd = configError(() => createModelConfig({ preset: 'rnn-seq2seq', vocabSize: 40, dModel: 33 }));
    expect(odd.field).toBe('dModel');
    expectMessage(odd, '33 must be even for a bidirectional encoder');
    expect(createModelConfig({ preset: 'rnn-seq2seq', vocabSize: 40, dModel: 33, rnnBidirectional: false }).dModel).toBe(33);
  });

  it('rnn fields are missing-errors for rnn-seq2seq and rejected for the Transformer presets', () => {
    const record: Record<string, unknown> = { ...createModelConfig({ preset: 'rnn-seq2seq', vocabSize: 40 }) };
    delete record.rnnAttention;
    const missing = configError(() => parseModelConfig(record));
    expect(missing.field).toBe('config.json: rnnAttention');
    expectMessage(missing, 'missing');
    const extra = createError({ rnnAttention: 'dot' });
    expect(extra.field).toBe('rnnAttention');
    expectMessage(extra, "preset 'decoder-lm' has no such field", 'rnn-seq2seq');
  });
});

describe('vit-classifier preset', () => {
  it('defaults: 8×8 images in 2×2 patches, learned positions, CLS pooling; parse round trip', () => {
    const config = createModelConfig({ preset: 'vit-classifier', numClasses: 10 });
    expect(config).toMatchObject({ imageSize: 8, patchSize: 2, numChannels: 1, maxSeqLen: 17, numEncoderLayers: 2 });
    expect(hasTokens(config)).toBe(false);
    expect(numPatches(config)).toBe(16);
    expect(parseModelConfig(JSON.stringify(config))).toEqual(config);
  });

  it('bad values name the field', () => {
    const patch = configError(() => createModelConfig({ preset: 'vit-classifier', numClasses: 10, patchSize: 3 }));
    expect(patch.field).toBe('patchSize');
    expectMessage(patch, '3 does not divide imageSize=8');
    const short = configError(() => createModelConfig({ preset: 'vit-classifier', numClasses: 10, patchSize: 1 }));
    expect(short.field).toBe('maxSeqLen');
    expectMessage(short, '64 patches + CLS', 'at least 65');
    const classes = configError(() => createModelConfig({ preset: 'vit-classifier' }));
    expect(classes.field).toBe('numClasses');
    const extra = createError({ imageSize: 8 });
    expect(extra.field).toBe('imageSize');
    expectMessage(extra, "preset 'decoder-lm' has no such field", 'vit-classifier');
    for (const pixelScale of [0, -1, Infinity]) {
      const scale = configError(() => createModelConfig({ preset: 'vit-classifier', numClasses: 10, pixelScale }));
      expect(scale.field).toBe('pixelScale');
      expectMessage(scale, 'expected a finite number > 0');
    }
  });

  it('pixelScale: kept when given, 1 for a config.json written before the field existed', () => {
    const config = createModelConfig({ preset: 'vit-classifier', numClasses: 10, pixelScale: 1 / 16 });
    expect(config.pixelScale).toBe(0.0625);
    expect(parseModelConfig(JSON.stringify(config))).toMatchObject({ pixelScale: 0.0625 });
    const { pixelScale: _, ...older } = config;
    expect(parseModelConfig(JSON.stringify(older))).toMatchObject({ pixelScale: 1 });
  });
});

describe('each kind has only its own fields', () => {
  it('fields of another kind are errors naming the field and the kind (the flat layout accepted them all)', () => {
    const cases: [ModelConfigInput, string][] = [
      [{ preset: 'rnn-seq2seq', vocabSize: 40, positional: 'rope' } as ModelConfigInput, 'positional'],
      [{ preset: 'rnn-seq2seq', vocabSize: 40, attention: 'cosine' } as ModelConfigInput, 'attention'],
      [{ preset: 'rnn-seq2seq', vocabSize: 40, norm: 'post' } as ModelConfigInput, 'norm'],
      [{ preset: 'rnn-seq2seq', vocabSize: 40, scaleEmbedding: false } as ModelConfigInput, 'scaleEmbedding'],
      [{ preset: 'rnn-seq2seq', vocabSize: 40, dFf: 7 } as ModelConfigInput, 'dFf'],
      [{ preset: 'rnn-seq2seq', vocabSize: 40, numHeads: 3 } as ModelConfigInput, 'numHeads'],
      [{ preset: 'vit-classifier', numClasses: 10, vocabSize: 3 } as ModelConfigInput, 'vocabSize'],
      [{ preset: 'vit-classifier', numClasses: 10, positional: 'learned' } as ModelConfigInput, 'positional'],
      [{ preset: 'encoder-classifier', vocabSize: 40, numClasses: 2, tieEmbeddings: true } as ModelConfigInput, 'tieEmbeddings'],
      [{ preset: 'decoder-lm', vocabSize: 40, pooling: 'mean' } as ModelConfigInput, 'pooling'],
    ];
    for (const [input, field] of cases) {
      const error = configError(() => createModelConfig(input));
      expect(error.field, field).toBe(field);
      expectMessage(error, `preset '${input.preset}' has no such field`);
    }
  });

  it('an rnn-seq2seq takes any dModel its cell allows: no head count to divide it', () => {
    expect(createModelConfig({ preset: 'rnn-seq2seq', vocabSize: 40, dModel: 6 }).dModel).toBe(6);
  });

  it('a config holds exactly its kind\'s fields, and every kind lists preset first', () => {
    for (const kind of Object.values(MODEL_KINDS)) {
      expect(kind.fields[0]).toBe('preset');
      expect(new Set(kind.fields).size).toBe(kind.fields.length);
    }
    const rnn = createModelConfig({ preset: 'rnn-seq2seq', vocabSize: 40 });
    expect(Object.keys(rnn).sort()).toEqual([...MODEL_KINDS['rnn-seq2seq'].fields].sort());
  });
});

describe('config.json files written by attend 0.1 (the flat layout) still load', () => {
  const dir = new URL('./models/fixtures/', import.meta.url);
  const files = readdirSync(dir).filter((f) => f.endsWith('.v0.1.json'));

  it('there is a fixture for every kind of attend 0.1', () => {
    const later = ['canvas-classifier', 'stn-classifier', 'image-captioner', 'glimpse-classifier', 'vision-encoder-decoder']; // kinds added after 0.1 never had the flat layout
    expect(files.map((f) => f.replace('.v0.1.json', '')).sort()).toEqual(Object.keys(MODEL_KINDS).filter((k) => !later.includes(k)).sort());
  });

  it.each(files)('%s loads, keeps its own fields and drops the ones its kind never read', (file) => {
    const flat = JSON.parse(readFileSync(new URL(file, dir), 'utf8')) as Record<string, unknown>;
    const config = parseModelConfig(readFileSync(new URL(file, dir), 'utf8'), file);
    const kind = MODEL_KINDS[config.preset];
    expect(Object.keys(config).sort()).toEqual([...kind.fields].sort());
    for (const field of kind.fields) expect((config as unknown as Record<string, unknown>)[field], field).toEqual(field in flat ? flat[field] : kind.laterFields[field]);
    // What loads is a valid config of the new layout, which round-trips.
    expect(parseModelConfig(JSON.stringify(config))).toEqual(config);
  });

  it('a flat-layout file still has its own fields checked', () => {
    const flat = JSON.parse(readFileSync(new URL('rnn-seq2seq.v0.1.json', dir), 'utf8')) as Record<string, unknown>;
    expect(configError(() => parseModelConfig({ ...flat, rnnCell: 'rnn' })).field).toBe('config.json: rnnCell');
    // …and the fields it never read may hold anything the old layout allowed.
    expect(parseModelConfig({ ...flat, numHeads: 3, dFf: 7 })).toMatchObject({ preset: 'rnn-seq2seq' });
  });
});

describe('config caps', () => {
  it('maxSeqLen over MAX_SEQ_LEN is a ConfigError: a config cannot make the positional tables claim gigabytes', () => {
    expect(() => createModelConfig({ preset: 'decoder-lm', vocabSize: 65, maxSeqLen: 100_000_000 } as ModelConfigInput)).toThrow('maxSeqLen: 100000000 is over the limit of 65536');
    expect(createModelConfig({ preset: 'decoder-lm', vocabSize: 65, dModel: 16, numHeads: 2, maxSeqLen: 65_536 } as ModelConfigInput).maxSeqLen).toBe(65_536);
  });
});
