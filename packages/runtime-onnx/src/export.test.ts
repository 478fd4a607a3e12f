// Parity of the exported forward graph with the tfjs model it was exported from: for every
// preset and every option (score functions, positional encodings, norm placement,
// activations, local window, embedding norm, tied/untied output, mean/cls pooling, pooler), random weights and a
// right-padded batch give the same logits and attention weights under onnxruntime-node (CPU)
// and onnxruntime-web (WASM, in Node) as under tfjs, to 1e-4.

import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRng, POSITIONAL_ENCODINGS, SCORE_FUNCTIONS, type ModelConfigInput, type Preset } from '@attend/core';
import { setupBackend, type ForwardResult, type TransformerModel } from '@attend/transformer';
import { createOnnxModel as createNodeModel } from './node.js';
import { createOnnxModel as createWebModel } from './web.js';
import { exportCheckpointFiles } from './export.js';
import type { ForwardOutputs, OnnxModel, TokenMatrix } from './session.js';
import { checkpointFiles, forwardOf, makeModel, maxAbsDiff, randomBatch } from './test-utils/models.js';

const TOLERANCE = 1e-4;
const PRESETS: Preset[] = ['encoder-classifier', 'decoder-lm', 'encoder-decoder'];

type Case = Partial<ModelConfigInput> & { preset: Preset };

/** Every option appears with every preset: 5 score functions, then 4 positional encodings. */
function cases(preset: Preset): Case[] {
  const out: Case[] = SCORE_FUNCTIONS.map((attention, i) => ({
    preset,
    attention,
    positional: POSITIONAL_ENCODINGS[i % POSITIONAL_ENCODINGS.length],
    norm: i % 2 ? 'post' : 'pre',
    activation: (['gelu', 'relu', 'gelu_new'] as const)[i % 3],
  }));
  for (const [i, positional] of POSITIONAL_ENCODINGS.entries()) {
    out.push({
      preset,
      positional,
      attention: 'scaled_dot',
      norm: i % 2 ? 'pre' : 'post',
      localWindow: i % 2 ? 2 : null,
      scaleEmbedding: i % 2 === 0,
      embeddingNorm: i < 2,
      ...(preset === 'encoder-classifier' ? { pooling: i % 2 ? 'cls' : 'mean', pooler: i > 0 } : { tieEmbeddings: i % 2 === 0 }),
    });
  }
  return out;
}

const maxDiffs = { node: 0, web: 0 };
// Both runtimes in one process: onnxruntime-web with a single WASM thread (no worker threads).
const webOptions = { numThreads: 1 } as const;

beforeAll(async () => {
  await setupBackend();
});
afterAll(() => {
  // PARITY_REPORT=1 prints the largest differences seen, for benchmark notes and reports.
  if (process.env.PARITY_REPORT) console.log(`max |ONNX − tfjs|: node ${maxDiffs.node.toExponential(2)}, web ${maxDiffs.web.toExponential(2)}`);
});

function label(c: Case): string {
  return Object.entries(c)
    .filter(([k]) => k !== 'preset')
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
}

/** Names of the attention outputs and the tfjs maps they hold, per preset. */
function attentionPairs(preset: Preset, result: ForwardResult): [string, tf.Tensor4D][] {
  const a = result.attention!;
  const named = (prefix: string, maps: tf.Tensor4D[]): [string, tf.Tensor4D][] => maps.map((m, i) => [`${prefix}.${i}`, m]);
  if (preset === 'encoder-classifier') return named('attentions', a.encoder);
  if (preset === 'decoder-lm') return named('attentions', a.decoderSelf);
  return [...named('encoder_attentions', a.encoder), ...named('decoder_attentions', a.decoderSelf), ...named('cross_attentions', a.cross)];
}

function matrix(data: Int32Array, batchSize: number, seqLen: number): TokenMatrix {
  return { data, batchSize, seqLen };
}

for (const preset of PRESETS) {
  describe(`${preset}: ONNX forward equals tfjs`, () => {
    cases(preset).forEach((c, index) => {
      it(label(c), async () => {
        const model: TransformerModel = makeModel(c, index);
        const rng = createRng(index + 17);
        const source = randomBatch(rng, [7, 4, 1], 7);
        const target = randomBatch(rng, [5, 2, 5], 5);
        const withAttention = index !== 0;
        const bytes = exportCheckpointFiles(checkpointFiles(model), { withAttention });
        const expected = model.forward(source, preset === 'encoder-decoder' ? target : undefined, { returnAttention: withAttention });
        const feeds = {
          inputIds: matrix(source.ids, 3, 7),
          attentionMask: matrix(source.mask, 3, 7),
          ...(preset === 'encoder-decoder' ? { decoderInputIds: matrix(target.ids, 3, 5), decoderAttentionMask: matrix(target.mask, 3, 5) } : {}),
        };
        const sessions: [keyof typeof maxDiffs, OnnxModel][] = [
          ['node', await createNodeModel(bytes)],
          ['web', await createWebModel(bytes, webOptions)],
        ];
        try {
          for (const [runtime, session] of sessions) {
            const out: ForwardOutputs = await forwardOf(session).run(feeds);
            expect(out.logits.dims).toEqual(expected.logits.shape);
            const diff = maxAbsDiff(out.logits.data, expected.logits.dataSync());
            maxDiffs[runtime] = Math.max(maxDiffs[runtime], diff);
            expect(diff, `${runtime} logits`).toBeLessThanOrEqual(TOLERANCE);
            if (!withAttention) {
              expect(Object.keys(out.attentions)).toEqual([]);
              continue;
            }
            const pairs = attentionPairs(preset, expected);
            expect(Object.keys(out.attentions).sort()).toEqual(pairs.map(([n]) => n).sort());
            for (const [name, map] of pairs) {
              const got = out.attentions[name]!;
              expect(got.dims, name).toEqual(map.shape);
              const d = maxAbsDiff(got.data, map.dataSync());
              maxDiffs[runtime] = Math.max(maxDiffs[runtime], d);
              expect(d, `${runtime} ${name}`).toBeLessThanOrEqual(TOLERANCE);
            }
          }
        } finally {
          for (const [, s] of sessions) await s.release();
          tf.dispose([expected.logits, ...Object.values(expected.attention ?? {}).flat()]);
          model.dispose();
        }
      });
    });
  });
}
