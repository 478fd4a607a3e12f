// The fused graphs (export option `optimize`): ONNX Runtime's com.microsoft operators where
// they cover the model, the same function as the tfjs model. For every Transformer preset and
// the options the fused ops take (scaled_dot and dot scores with each positional encoding,
// pre/post norm, gelu/gelu_new/relu, local windows, ALiBi) and those that keep standard
// attention (general, additive, cosine), random weights and a right-padded batch give the
// tfjs logits under onnxruntime-node (CPU) and onnxruntime-web (WASM) to 1e-4; the decoder-lm
// KV-cache graph gives the tfjs logits at every cached step.

import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, createRng, type Preset } from '@attend/core';
import { setupBackend } from '@attend/transformer';
import { createOnnxModel as createNodeModel } from './node.js';
import { createOnnxModel as createWebModel } from './web.js';
import { exportCheckpointFiles } from './export.js';
import { decodeModel } from './quantize.js';
import type { KvCache, OnnxModel, TokenMatrix } from './session.js';
import { cachedOf, checkpointFiles, forwardOf, makeModel, MAX_LEN, maxAbsDiff, opCounts, randomBatch, VOCAB } from './test-utils/models.js';

const TOLERANCE = 1e-4;
interface Options {
  attention: 'scaled_dot' | 'dot' | 'general' | 'additive' | 'cosine';
  positional: string;
  norm: string;
  activation: string;
  localWindow?: number;
  embeddingNorm?: boolean;
  scaleEmbedding?: boolean;
  tieEmbeddings?: boolean;
}
type Case = Omit<Options, 'tieEmbeddings'> & { preset: Preset; tieEmbeddings?: boolean };

const OPTIONS: Options[] = [
  { attention: 'scaled_dot', positional: 'rope', norm: 'pre', activation: 'gelu_new' },
  { attention: 'scaled_dot', positional: 'alibi', norm: 'post', activation: 'gelu', localWindow: 2 },
  { attention: 'dot', positional: 'learned', norm: 'pre', activation: 'relu', embeddingNorm: true },
  { attention: 'scaled_dot', positional: 'sinusoidal', norm: 'post', activation: 'gelu_new', scaleEmbedding: true },
  { attention: 'dot', positional: 'rope', norm: 'post', activation: 'gelu', localWindow: 3 },
  { attention: 'scaled_dot', positional: 'learned', norm: 'pre', activation: 'gelu', tieEmbeddings: false },
  { attention: 'general', positional: 'rope', norm: 'pre', activation: 'gelu_new' },
  { attention: 'additive', positional: 'alibi', norm: 'pre', activation: 'gelu' },
  { attention: 'cosine', positional: 'sinusoidal', norm: 'post', activation: 'relu' },
  { attention: 'scaled_dot', positional: 'sinusoidal_split', norm: 'post', activation: 'swish', scaleEmbedding: true },
];

function label(c: Options): string {
  return Object.entries(c)
    .filter(([k]) => k !== 'preset')
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

function matrix(data: Int32Array, batchSize: number, seqLen: number): TokenMatrix {
  return { data, batchSize, seqLen };
}

/** Overrides of `options` that `preset` has (tieEmbeddings is the LMs' only). */
function caseOf(preset: Preset, options: Options): Case {
  const { tieEmbeddings, ...rest } = options;
  return { preset, ...rest, ...(preset !== 'encoder-classifier' && tieEmbeddings !== undefined ? { tieEmbeddings } : {}) };
}

beforeAll(async () => {
  await setupBackend();
});

for (const preset of ['decoder-lm', 'encoder-classifier', 'encoder-decoder'] as const) {
  describe(`${preset}: the optimized forward graph equals tfjs`, () => {
    OPTIONS.forEach((options, index) => {
      it(label(options), async () => {
        const c = caseOf(preset, options);
        const model = makeModel(c, 60 + index);
        const rng = createRng(index + 5);
        const source = randomBatch(rng, [7, 4, 1], 7);
        const target = randomBatch(rng, [5, 2, 5], 5);
        const bytes = exportCheckpointFiles(checkpointFiles(model), { optimize: true });
        const ops = opCounts(bytes, 'com.microsoft');
        const layers = preset === 'encoder-decoder' ? 4 : 2;
        const mha = c.attention === 'scaled_dot' || c.attention === 'dot';
        expect(ops.MultiHeadAttention ?? 0).toBe(mha ? layers + (preset === 'encoder-decoder' ? 2 : 0) : 0);
        expect(ops.RotaryEmbedding ?? 0).toBe(mha && c.positional === 'rope' ? 2 * layers : 0);
        expect(ops.SkipLayerNormalization ?? 0).toBe(0); // slower than Add + LayerNormalization on ORT's CPU (transformer-graph.ts)
        expect((ops.FastGelu ?? 0) + (ops.BiasGelu ?? 0)).toBe(c.activation === 'relu' || c.activation === 'swish' ? 0 : layers);
        const expected = model.forward(source, preset === 'encoder-decoder' ? target : undefined);
        const feeds = {
          inputIds: matrix(source.ids, 3, 7),
          attentionMask: matrix(source.mask, 3, 7),
          ...(preset === 'encoder-decoder' ? { decoderInputIds: matrix(target.ids, 3, 5), decoderAttentionMask: matrix(target.mask, 3, 5) } : {}),
        };
        const sessions: [string, OnnxModel][] = [
          ['node', await createNodeModel(bytes)],
          ['web', await createWebModel(bytes, { numThreads: 1 })],
        ];
        try {
          for (const [runtime, session] of sessions) {
            const out = await forwardOf(session).run(feeds);
            expect(out.logits.dims).toEqual(expected.logits.shape);
            expect(maxAbsDiff(out.logits.data, expected.logits.dataSync()), `${runtime} logits`).toBeLessThanOrEqual(TOLERANCE);
          }
        } finally {
          for (const [, s] of sessions) await s.release();
          tf.dispose(expected.logits);
          model.dispose();
        }
      });
    });
  });
}

describe('decoder-lm: the optimized KV-cache graph', () => {
  OPTIONS.slice(0, 6).forEach((options, index) => {
    it(`cached steps equal the full tfjs forward: ${label(options)}`, async () => {
      const model = makeModel(caseOf('decoder-lm', options), 80 + index);
      const onnx = await (index === 0 ? createWebModel : createNodeModel)(exportCheckpointFiles(checkpointFiles(model), { kvCache: true, optimize: true }), { numThreads: 1 });
      try {
        const B = 2;
        const T = MAX_LEN;
        const { ids } = randomBatch(createRng(index), [T, T], T);
        const result = model.forward({ ids, batchSize: B, seqLen: T });
        const full = result.logits.dataSync() as Float32Array;
        result.logits.dispose();
        const at = (logits: Float32Array, len: number, t: number): Float32Array =>
          Float32Array.from({ length: B * VOCAB }, (_, i) => logits[(Math.floor(i / VOCAB) * len + t) * VOCAB + (i % VOCAB)]!);
        const P0 = 3;
        const prompt = Int32Array.from({ length: B * P0 }, (_, i) => ids[Math.floor(i / P0) * T + (i % P0)]!);
        let out = await cachedOf(onnx).runCached({ inputIds: matrix(prompt, B, P0) });
        for (let t = 0; t < P0; t++) expect(maxAbsDiff(at(out.logits.data, P0, t), at(full, T, t)), `prompt position ${t}`).toBeLessThanOrEqual(TOLERANCE);
        let cache: KvCache = out.present;
        for (let t = P0; t < T; t++) {
          out = await cachedOf(onnx).runCached({ inputIds: matrix(Int32Array.from({ length: B }, (_, b) => ids[b * T + t]!), B, 1), past: cache });
          expect(maxAbsDiff(out.logits.data, at(full, T, t)), `step at position ${t}`).toBeLessThanOrEqual(TOLERANCE);
          cache = out.present;
        }
        expect(cache[1]!.key.dims).toEqual([B, 2, T, 4]);
      } finally {
        await onnx.release();
        model.dispose();
      }
    });
  });
});

describe('optimize', () => {
  it('is refused with attention weight outputs, naming both options', () => {
    const files = checkpointFiles(makeModel({ preset: 'decoder-lm' }, 1));
    expect(() => exportCheckpointFiles(files, { optimize: true, withAttention: true })).toThrow(ConfigError);
    expect(() => exportCheckpointFiles(files, { optimize: true, withAttention: true })).toThrow(/optimize.*withAttention/);
  });

  it('leaves the default graph standard ONNX', () => {
    const files = checkpointFiles(makeModel({ preset: 'decoder-lm' }, 2));
    expect(opCounts(exportCheckpointFiles(files, { kvCache: true }), 'com.microsoft')).toEqual({});
    expect(decodeModel(exportCheckpointFiles(files, { kvCache: true })).opsetImports.map((o) => o.domain)).toEqual(['']);
  });
});
