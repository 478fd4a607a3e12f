// TransformerModel numerics over the presets × positional encodings × score functions × norm
// placements: logits equal the plain-array reference; no causal leakage; padded tokens change
// nothing; local windows bound the receptive field; attention maps come back only on request
// and with the documented shapes; bad inputs throw errors that say what is wrong. Also the
// building blocks (LayerNorm, FeedForward, a decoder layer) against the same reference.

import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createModelConfig,
  createRng,
  numDecoderLayers,
  numEncoderLayers,
  POSITIONAL_ENCODINGS,
  TRANSFORMER_PRESETS,
  SCORE_FUNCTIONS,
  ShapeError,
  type ConfigOf,
  type DecoderLmConfig,
  type PositionalEncoding,
  type Rng,
  type StackFields,
  type TransformerConfig,
} from '@attend/core';
import { setupBackend } from './backend.js';
import { FeedForward, LayerNorm, TransformerLayer } from './layers.js';
import { TransformerModel, type TokenBatch } from './model.js';
import { feedForwardRef, layerNormOf, modelRef, plainParams, transformerLayerRef, type Mat } from './test-utils/reference.js';
import { flat, maxAbsDiff, randomizeParams } from './test-utils/weights.js';

const VOCAB = 13;
const MAX_LEN = 10;
/** Outputs that must not move at all may differ by float32 rounding only. */
const SAME = 1e-6;

beforeAll(async () => {
  await setupBackend();
});
afterEach(() => {
  tf.disposeVariables();
});

type TransformerPreset = TransformerConfig['preset'];
/** Fields of one Transformer preset's config (only that kind's), over the small test model. */
type TransformerInput = { [P in TransformerPreset]: Partial<ConfigOf<P>> & { preset: P } }[TransformerPreset];

function makeModel(input: TransformerInput, seed: number): TransformerModel {
  const small = { vocabSize: VOCAB, dModel: 8, numHeads: 2, dFf: 16, maxSeqLen: MAX_LEN, dropout: 0 };
  let config: TransformerConfig;
  switch (input.preset) {
    case 'encoder-classifier':
      config = createModelConfig({ ...small, numClasses: 3, numEncoderLayers: 2, ...input });
      break;
    case 'decoder-lm':
      config = createModelConfig({ ...small, numDecoderLayers: 2, ...input });
      break;
    case 'encoder-decoder':
      config = createModelConfig({ ...small, numEncoderLayers: 2, numDecoderLayers: 2, ...input });
      break;
  }
  const model = new TransformerModel(config, { seed });
  randomizeParams(model.namedParams(), 100 + seed);
  return model;
}

function tokenBatch(rows: number[][], lengths?: number[]): TokenBatch {
  const T = rows[0]!.length;
  return { ids: Int32Array.from(rows.flat()), batchSize: rows.length, seqLen: T, lengths: lengths ? Int32Array.from(lengths) : undefined };
}

const randomIds = (rng: Rng, n: number): number[] => Array.from({ length: n }, () => rng.int(VOCAB));
/** A token different from `id`. */
const other = (rng: Rng, id: number): number => (id + 1 + rng.int(VOCAB - 1)) % VOCAB;

/** Logits as nested arrays ([B][C] or [B][T][V]); tensors are freed. */
function logitsOf(model: TransformerModel, input: TokenBatch, target?: TokenBatch): number[][] | number[][][] {
  return tf.tidy(() => model.forward(input, target).logits.arraySync() as number[][] | number[][][]);
}

function decoderLogits(model: TransformerModel, input: TokenBatch, target?: TokenBatch): number[][][] {
  return logitsOf(model, input, target) as number[][][];
}

/** Replicates one sequence into `n` rows. */
const repeat = (row: number[], n: number): number[][] => Array.from({ length: n }, () => [...row]);

interface Case {
  preset: TransformerPreset;
  positional: PositionalEncoding;
  norm: 'pre' | 'post';
  attention: (typeof SCORE_FUNCTIONS)[number];
  label: string;
  /** The case's config fields, the preset's own only. */
  input: TransformerInput;
}

// Each preset × positional × norm, with two score functions chosen so every preset meets all five;
// tied/untied heads, activations, poolings and layer-norm eps alternate along the way.
const CASES: Case[] = TRANSFORMER_PRESETS.flatMap((preset, pi) =>
  POSITIONAL_ENCODINGS.flatMap((positional, qi) =>
    (['pre', 'post'] as const).flatMap((norm, ni) =>
      [0, 1].map((k) => {
        const index = pi + qi * 2 + ni + k * 3;
        const attention = SCORE_FUNCTIONS[index % SCORE_FUNCTIONS.length]!;
        const common = {
          positional,
          norm,
          attention,
          activation: (['gelu', 'relu', 'gelu_new', 'swish'] as const)[index % 4]!,
          layerNormEps: k === 1 ? 1e-2 : 1e-5,
          scaleEmbedding: (pi + ni + k) % 2 === 0,
          embeddingNorm: (qi + k) % 2 === 1,
        } as const;
        // The classifier has a pooling and no output embedding; the LM kinds a tied or untied head.
        const input: TransformerInput =
          preset === 'encoder-classifier'
            ? { preset, ...common, pooling: (ni + k) % 2 === 1 ? 'cls' : 'mean', pooler: k === 1 }
            : { preset, ...common, tieEmbeddings: (qi + k) % 2 === 0, ...(preset === 'encoder-decoder' ? { logitsBias: k === 1 } : {}) };
        const head = input.preset === 'encoder-classifier' ? `${input.pooling} pooling${input.pooler ? ' + pooler' : ''}` : `${input.tieEmbeddings ? 'tied' : 'untied'}${'logitsBias' in input && input.logitsBias ? ' + logits bias' : ''}`;
        const embeddings = `${common.scaleEmbedding ? '' : ', unscaled embeddings'}${common.embeddingNorm ? ', embedding norm' : ''}`;
        const label = `${preset} ${positional} ${norm}-norm ${attention} (${common.activation}, ${head}, eps ${common.layerNormEps}${embeddings})`;
        return { preset, positional, norm, attention, label, input };
      }),
    ),
  ),
);

describe.each(CASES)('$label', (c) => {
  const T = 7;
  const make = (seed: number): TransformerModel => makeModel(c.input, seed);

  it('logits equal the plain-array reference', () => {
    const model = make(1);
    const rng = createRng(2);
    const src = tokenBatch([randomIds(rng, T), randomIds(rng, T)], [T, T - 3]);
    const tgt = c.preset === 'encoder-decoder' ? tokenBatch([randomIds(rng, T - 1), randomIds(rng, T - 1)], [T - 1, T - 3]) : undefined;
    const got = logitsOf(model, src, tgt);
    const p = plainParams(model.namedParams());
    for (let b = 0; b < 2; b++) {
      const seq = (x: TokenBatch) => ({ ids: Array.from(x.ids.slice(b * x.seqLen, (b + 1) * x.seqLen)), length: x.lengths?.[b] });
      const ref = modelRef(model.config, p, seq(src), tgt && seq(tgt));
      const g = flat(got[b]);
      const r = flat(ref);
      expect(g.length).toBe(r.length);
      const scale = Math.max(1, ...r.map(Math.abs));
      expect(maxAbsDiff(g, r) / scale).toBeLessThan(1e-4);
    }
  });

  if (c.preset !== 'encoder-classifier') {
    it('causal: changing tokens after position t never changes the logits at positions ≤ t', () => {
      const model = make(3);
      const rng = createRng(4);
      const base = randomIds(rng, T);
      // Row p keeps tokens < p and replaces every token from p on.
      const rows = base.map((_, p) => base.map((id, t) => (t >= p && p > 0 ? other(rng, id) : id)));
      const source = c.preset === 'encoder-decoder' ? tokenBatch(repeat(randomIds(rng, 5), T), Array(T).fill(4)) : undefined;
      const logits = source ? decoderLogits(model, source, tokenBatch(rows)) : decoderLogits(model, tokenBatch(rows));
      for (let p = 1; p < T; p++) {
        for (let t = 0; t < p; t++) expect(maxAbsDiff(logits[p]![t]!, logits[0]![t]!)).toBeLessThanOrEqual(SAME);
        // Position p sees its own (changed) token.
        expect(maxAbsDiff(logits[p]![p]!, logits[0]![p]!)).toBeGreaterThan(1e-4);
      }
    });
  }

  if (c.preset !== 'decoder-lm') {
    it('padding: token ids beyond the valid length change nothing', () => {
      const model = make(5);
      const rng = createRng(6);
      const L = 4;
      const base = randomIds(rng, T);
      const rows = [base, ...Array.from({ length: 3 }, () => base.map((id, t) => (t >= L ? other(rng, id) : id)))];
      // Control row: one valid token changed.
      const control = base.map((id, t) => (t === L - 1 ? other(rng, id) : id));
      const source = tokenBatch([...rows, control], Array(rows.length + 1).fill(L));
      const target = c.preset === 'encoder-decoder' ? tokenBatch(repeat(randomIds(rng, 5), rows.length + 1)) : undefined;
      const logits = flat(logitsOf(model, source, target));
      const per = logits.length / (rows.length + 1);
      const row = (r: number): number[] => logits.slice(r * per, (r + 1) * per);
      for (let r = 1; r < rows.length; r++) expect(maxAbsDiff(row(r), row(0))).toBeLessThanOrEqual(SAME);
      // With cls pooling the first position of a 2-layer encoder still sees position L−1.
      expect(maxAbsDiff(row(rows.length), row(0))).toBeGreaterThan(1e-4);

      // The encoder states of the valid positions do not move either.
      const states = tf.tidy(() => model.encode(source).arraySync());
      for (let r = 1; r < rows.length; r++) {
        for (let t = 0; t < L; t++) expect(maxAbsDiff(states[r]![t]!, states[0]![t]!)).toBeLessThanOrEqual(SAME);
      }
    });
  }
});

describe.each(TRANSFORMER_PRESETS)('local window, %s', (preset) => {
  it.each([...POSITIONAL_ENCODINGS])('a 1-layer model with localWindow 2 and %s positions sees only tokens within the window', (positional) => {
    const W = 2;
    const T = 8;
    const stack: Partial<StackFields> = {
      positional,
      localWindow: W,
      attention: preset === 'decoder-lm' ? 'additive' : 'scaled_dot',
      norm: preset === 'encoder-decoder' ? 'post' : 'pre',
    };
    const model = makeModel(
      preset === 'decoder-lm'
        ? { preset, ...stack, numDecoderLayers: 1 }
        : preset === 'encoder-classifier'
          ? { preset, ...stack, numEncoderLayers: 1 }
          : { preset, ...stack, numEncoderLayers: 1, numDecoderLayers: 1 },
      7,
    );
    const rng = createRng(8);
    const base = randomIds(rng, T);
    // Row p + 1 changes only the token at position p.
    const rows = [base, ...base.map((_, p) => base.map((id, t) => (t === p ? other(rng, id) : id)))];
    const batch = tokenBatch(rows);
    // For encoders: the states of each position; for decoders: the logits.
    let outputs: number[][][];
    let causal: boolean;
    if (preset === 'decoder-lm') {
      outputs = decoderLogits(model, batch);
      causal = true;
    } else if (preset === 'encoder-classifier') {
      outputs = tf.tidy(() => model.encode(batch).arraySync());
      causal = false;
    } else {
      // Both the encoder (bidirectional) and the decoder (causal) self-attention are windowed.
      outputs = tf.tidy(() => model.encode(batch).arraySync());
      causal = false;
      const source = tokenBatch(repeat(randomIds(rng, 6), rows.length));
      const dec = decoderLogits(model, source, batch);
      for (let p = 0; p < T; p++) {
        for (let i = 0; i < T; i++) {
          const diff = maxAbsDiff(dec[p + 1]![i]!, dec[0]![i]!);
          if (p <= i && i - p <= W) expect(diff, `decoder position ${i}, token ${p}`).toBeGreaterThan(1e-5);
          else expect(diff, `decoder position ${i}, token ${p}`).toBeLessThanOrEqual(SAME);
        }
      }
    }
    for (let p = 0; p < T; p++) {
      for (let i = 0; i < T; i++) {
        const diff = maxAbsDiff(outputs[p + 1]![i]!, outputs[0]![i]!);
        const seen = Math.abs(i - p) <= W && (!causal || p <= i);
        if (seen) expect(diff, `position ${i}, token ${p}`).toBeGreaterThan(1e-5);
        else expect(diff, `position ${i}, token ${p}`).toBeLessThanOrEqual(SAME);
      }
    }
  });
});

describe('initialisation', () => {
  const stdOf = (v: tf.Tensor): number => {
    const x = Array.from(v.dataSync());
    const mean = x.reduce((a, b) => a + b, 0) / x.length;
    return Math.sqrt(x.reduce((a, b) => a + (b - mean) ** 2, 0) / x.length);
  };
  const stds = (model: TransformerModel): Map<string, number> => new Map(model.namedParams().map((p) => [p.name, stdOf(p.variable)]));
  const config = (scaleEmbedding: boolean): DecoderLmConfig =>
    createModelConfig({ preset: 'decoder-lm', vocabSize: 300, dModel: 64, numHeads: 4, numDecoderLayers: 2, dFf: 256, maxSeqLen: 200, positional: 'learned', scaleEmbedding });

  it("'gpt2': kernels N(0, 0.02²), residual projections / √(2·layers); unscaled embeddings at 0.02", () => {
    const s = stds(new TransformerModel(config(false), { seed: 3, init: 'gpt2' }));
    const near = (name: string, want: number): void => expect(s.get(name), name).toBeCloseTo(want, 3);
    near('embed_tokens.weight', 0.02);
    near('decoder.embed_positions.weight', 0.02);
    near('decoder.layers.1.self_attn.q_proj.weight', 0.02);
    near('decoder.layers.1.fc1.weight', 0.02);
    near('decoder.layers.0.self_attn.out_proj.weight', 0.02 / 2);
    near('decoder.layers.0.fc2.weight', 0.02 / 2);
  });

  it("'glorot' (default): kernels √(2/(in+out)), only fc2 shrunk; scaled embeddings at 1/√dModel", () => {
    const s = stds(new TransformerModel(config(true), { seed: 3 }));
    const near = (name: string, want: number): void => expect(s.get(name), name).toBeCloseTo(want, 2);
    near('embed_tokens.weight', 1 / 8);
    near('decoder.layers.1.self_attn.q_proj.weight', Math.sqrt(2 / 128));
    near('decoder.layers.0.self_attn.out_proj.weight', Math.sqrt(2 / 128));
    near('decoder.layers.0.fc2.weight', Math.sqrt(2 / 320) / 2);
  });
});

describe('attention maps', () => {
  const B = 2;
  const S = 5;
  const T = 4;
  const H = 2;
  const lengths = { src: [5, 3], tgt: [4, 2] };

  it.each([...TRANSFORMER_PRESETS])('%s: returned only on request, one [B, H, Tq, Tk] map per layer, masks respected', (preset) => {
    const model = makeModel({ preset, attention: 'general' }, 9);
    const rng = createRng(10);
    const isLm = preset === 'decoder-lm';
    const input = isLm ? tokenBatch([randomIds(rng, T), randomIds(rng, T)], lengths.tgt) : tokenBatch([randomIds(rng, S), randomIds(rng, S)], lengths.src);
    const target = preset === 'encoder-decoder' ? tokenBatch([randomIds(rng, T), randomIds(rng, T)], lengths.tgt) : undefined;

    const before = tf.memory().numTensors;
    const plain = model.forward(input, target);
    expect(plain.attention).toBeUndefined();
    expect(tf.memory().numTensors).toBe(before + 1);
    plain.logits.dispose();

    const { logits, attention } = model.forward(input, target, { returnAttention: true });
    expect(attention).toBeDefined();
    const maps = attention!;
    const enc = numEncoderLayers(model.config);
    const dec = numDecoderLayers(model.config);
    expect(maps.encoder.map((m) => m.shape)).toEqual(Array(enc).fill([B, H, S, S]));
    expect(maps.decoderSelf.map((m) => m.shape)).toEqual(Array(dec).fill([B, H, T, T]));
    expect(maps.cross.map((m) => m.shape)).toEqual(preset === 'encoder-decoder' ? Array(dec).fill([B, H, T, S]) : []);
    // Only the logits and the maps survive the forward pass.
    expect(tf.memory().numTensors).toBe(before + 1 + enc + 2 * (preset === 'encoder-decoder' ? dec : 0) + (isLm ? dec : 0));

    const check = (m: tf.Tensor4D, visible: (b: number, i: number, j: number) => boolean): void => {
      const w = m.arraySync();
      w.forEach((heads, b) =>
        heads.forEach((rows) =>
          rows.forEach((row, i) => {
            expect(row.reduce((a, x) => a + x, 0)).toBeCloseTo(1, 5);
            row.forEach((x, j) => {
              if (!visible(b, i, j)) expect(x).toBeLessThan(1e-7);
            });
          }),
        ),
      );
    };
    const srcLen = (b: number): number => lengths.src[b]!;
    const tgtLen = (b: number): number => lengths.tgt[b]!;
    for (const m of maps.encoder) check(m, (b, _i, j) => j < srcLen(b));
    for (const m of maps.decoderSelf) check(m, (b, i, j) => j <= i && j < tgtLen(b));
    for (const m of maps.cross) check(m, (b, _i, j) => j < srcLen(b));
    tf.dispose([logits, ...maps.encoder, ...maps.decoderSelf, ...maps.cross]);
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('bad inputs', () => {
  it('token ids outside the vocabulary, over-long sequences and bad lengths throw ShapeErrors that say what is wrong, and leak nothing', () => {
    const lm = makeModel({ preset: 'decoder-lm' }, 11);
    const s2s = makeModel({ preset: 'encoder-decoder' }, 12);
    const cls = makeModel({ preset: 'encoder-classifier' }, 13);
    const ok = tokenBatch([[3, 4, 5]]);
    const before = tf.memory().numTensors;
    const expectShapeError = (fn: () => unknown, message: RegExp): void => {
      let caught: unknown;
      try {
        fn();
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(ShapeError);
      expect((caught as Error).message).toMatch(message);
    };
    expectShapeError(() => lm.forward(tokenBatch([[1, VOCAB, 2]])), /token id 13 is outside the vocabulary \[0, 13\)/);
    expectShapeError(() => lm.forward(tokenBatch([[1, -1, 2]])), /token id -1 is outside the vocabulary/);
    expectShapeError(() => cls.forward(tokenBatch([[1, 2, VOCAB + 5]])), /token id 18 is outside/);
    expectShapeError(() => s2s.forward(ok, tokenBatch([[1, VOCAB]])), /token id 13 is outside/);
    expectShapeError(() => s2s.forward(tokenBatch([[VOCAB, 1]]), ok), /token id 13 is outside/);
    const tooLong = Array.from({ length: MAX_LEN + 1 }, () => 3);
    expectShapeError(() => lm.forward(tokenBatch([tooLong])), /sequence of length 11 exceeds maxSeqLen 10/);
    expectShapeError(() => cls.forward(tokenBatch([tooLong])), /exceeds maxSeqLen 10/);
    expectShapeError(() => s2s.forward(tokenBatch([tooLong]), ok), /exceeds maxSeqLen 10/);
    expectShapeError(() => s2s.forward(ok, tokenBatch([tooLong])), /exceeds maxSeqLen 10/);
    expectShapeError(() => cls.forward(tokenBatch([[3, 4, 5]], [4])), /valid length of batch row 0 is 4; expected an integer in \[0, 3\]/);
    expectShapeError(() => cls.forward(tokenBatch([[3, 4, 5]], [3, 3])), /keyLengths has 2 entries for batchSize 1/);
    expectShapeError(() => s2s.forward(ok), /needs a target/);
    // ids that do not fill [batchSize, seqLen] are rejected too.
    expect(() => lm.forward({ ids: Int32Array.from([1, 2, 3]), batchSize: 2, seqLen: 2 })).toThrow();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('building blocks against the reference', () => {
  it('LayerNorm and FeedForward (gelu and relu) match the plain-array formulas', () => {
    const rng = createRng(20);
    const rows: Mat = Array.from({ length: 5 }, () => Array.from({ length: 8 }, () => 2 * rng.normal() + 1));
    const x = tf.tensor2d(rows);
    const ln = new LayerNorm({ dim: 8, eps: 1e-3 });
    randomizeParams(ln.namedParams('ln'), 21);
    const p1 = plainParams(ln.namedParams('ln'));
    const gotLn = tf.tidy(() => ln.normalize(x).arraySync() as number[][]);
    const refLn = rows.map(layerNormOf(p1, 'ln', 1e-3));
    expect(maxAbsDiff(flat(gotLn), flat(refLn))).toBeLessThan(1e-5);
    for (const activation of ['gelu', 'relu', 'gelu_new'] as const) {
      const ffn = new FeedForward({ dModel: 8, dFf: 12, activation });
      randomizeParams(ffn.namedParams('f'), 22, 0.6);
      const p = plainParams(ffn.namedParams('f'));
      const got = tf.tidy(() => ffn.forward(x, false).arraySync() as number[][]);
      const W1 = p.get('f.fc1.weight')!;
      const W2 = p.get('f.fc2.weight')!;
      expect(W1.shape).toEqual([8, 12]);
      expect(W2.shape).toEqual([12, 8]);
      const ref = rows.map((row) => feedForwardRef(row, p, 'f', activation));
      expect(maxAbsDiff(flat(got), flat(ref))).toBeLessThan(1e-4);
    }
    x.dispose();
  });

  it.each(['pre', 'post'] as const)('a %s-norm decoder layer with cross-attention matches the reference', (norm) => {
    const rng = createRng(30);
    const xs: Mat = Array.from({ length: 4 }, () => Array.from({ length: 8 }, () => rng.normal()));
    const mem: Mat = Array.from({ length: 5 }, () => Array.from({ length: 8 }, () => rng.normal()));
    const layer = new TransformerLayer({ dModel: 8, numHeads: 2, dFf: 16, norm, activation: 'gelu', score: 'additive', crossAttention: true });
    randomizeParams(layer.namedParams('l'), 31, 0.4);
    const got = tf.tidy(() => {
      const x = tf.tensor3d([xs]);
      const states = tf.tensor3d([mem]);
      return layer.forward(x, { self: {}, memory: { states } }).output.arraySync()[0]!;
    });
    const ref = transformerLayerRef(xs, plainParams(layer.namedParams('l')), 'l', { numHeads: 2, score: 'additive', norm, activation: 'gelu', layerNormEps: 1e-5 }, {}, { states: mem });
    expect(maxAbsDiff(flat(got), flat(ref))).toBeLessThan(1e-4);
  });
});
