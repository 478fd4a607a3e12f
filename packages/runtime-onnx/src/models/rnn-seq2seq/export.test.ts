// Parity of the rnn-seq2seq ONNX export (encoder graph + one-step decoder graph, ONNX GRU or
// LSTM nodes) with the tfjs RnnSeq2SeqModel it was exported from: for every rnnAttention and
// both cells, random weights and a right-padded batch, the encoder states at valid positions,
// the decoder's initial states, and step by step (teacher forcing) the logits and attention
// weights agree to 1e-4 under onnxruntime-node.

import * as ort from 'onnxruntime-node';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { CharTokenizer, createModelConfig, createRng, f32Tensor, parseSafetensors, serializeSafetensors, toFloat32, type RnnAttention, type RnnSeq2SeqConfig } from '@attend/core';
import { RnnSeq2SeqModel, serializeCheckpoint, setupBackend } from '@attend/transformer';
import { exportRnnSeq2Seq, rnnHasInputFeeding } from './export.js';
import { exportFolderFiles } from '../../folder.js';
import { maxAbsDiff, randomBatch, VOCAB } from '../../test-utils/models.js';

const TOLERANCE = 1e-4;

beforeAll(async () => {
  await setupBackend();
});

type Case = { rnnAttention: RnnAttention } & Partial<Omit<RnnSeq2SeqConfig, 'preset'>>;
const CASES: Case[] = [
  { rnnAttention: 'none' },
  { rnnAttention: 'none', rnnBidirectional: false, numEncoderLayers: 2, numDecoderLayers: 2, tieEmbeddings: false },
  { rnnAttention: 'additive' },
  { rnnAttention: 'additive', numDecoderLayers: 2, rnnBidirectional: false },
  { rnnAttention: 'dot', numEncoderLayers: 2 },
  { rnnAttention: 'general', tieEmbeddings: false },
  { rnnAttention: 'concat', numDecoderLayers: 2 },
  { rnnAttention: 'local-p', localWindow: 2 },
  { rnnAttention: 'local-p', localWindow: 1, numEncoderLayers: 2, rnnBidirectional: false },
  { rnnCell: 'lstm', rnnAttention: 'none', numEncoderLayers: 2, numDecoderLayers: 2 },
  { rnnCell: 'lstm', rnnAttention: 'additive', rnnBidirectional: false },
  { rnnCell: 'lstm', rnnAttention: 'general', numDecoderLayers: 2, tieEmbeddings: false },
  { rnnCell: 'lstm', rnnAttention: 'local-p', localWindow: 2 },
];

const label = (c: Case): string => Object.entries(c).map(([k, v]) => `${k}=${v}`).join(' ');
const int64 = (data: ArrayLike<number>, dims: number[]): ort.Tensor => new ort.Tensor('int64', BigInt64Array.from(Array.from(data), (x) => BigInt(x)), dims);

describe('rnn-seq2seq: ONNX encoder + decoder step equal tfjs', () => {
  CASES.forEach((c, index) => {
    it(label(c), async () => {
      const config = createModelConfig({ preset: 'rnn-seq2seq', vocabSize: VOCAB, dModel: 8, maxSeqLen: 10, dropout: 0, localWindow: null, ...c });
      const model = new RnnSeq2SeqModel(config, { seed: index });
      const rng = createRng(500 + index);
      for (const { variable } of model.namedParams()) {
        tf.tidy(() => variable.assign(tf.tensor(Float32Array.from({ length: variable.size }, () => 0.5 * rng.normal()), variable.shape, 'float32')));
      }
      const [B, S, T, d, L] = [3, 7, 5, 8, config.numDecoderLayers];
      const source = randomBatch(rng, [7, 4, 1], S);
      const target = randomBatch(rng, [5, 5, 5], T);
      const { tensors } = parseSafetensors(serializeCheckpoint({ model })['model.safetensors']!);
      const exported = exportRnnSeq2Seq(config, tensors);
      const encoder = await ort.InferenceSession.create(exported.encoder);
      const decoder = await ort.InferenceSession.create(exported.decoder);
      try {
        const expected = model.forward(source, target, { returnAttention: true });
        const logits = expected.logits.arraySync() as number[][][];
        const cross = expected.attention!.cross[0]?.arraySync() as number[][][][] | undefined;
        const statesT = model.encode(source);
        const states = statesT.arraySync() as number[][][];
        const h0 = model.initialStates(statesT).map((h) => h.arraySync() as number[][]);
        let worst = 0;
        const check = (got: ArrayLike<number>, want: ArrayLike<number>, what: string): void => {
          const diff = maxAbsDiff(got, want);
          worst = Math.max(worst, diff);
          expect(diff, what).toBeLessThanOrEqual(TOLERANCE);
        };

        const enc = await encoder.run({ input_ids: int64(source.ids, [B, S]), attention_mask: int64(source.mask, [B, S]) });
        const encStates = enc.last_hidden_state!.data as Float32Array;
        expect(enc.last_hidden_state!.dims).toEqual([B, S, d]);
        source.lengths!.forEach((n, b) => {
          for (let s = 0; s < n; s++) check(encStates.subarray((b * S + s) * d, (b * S + s + 1) * d), states[b]![s]!, `encoder state [${b}, ${s}]`);
        });
        expect(enc.decoder_initial_state!.dims).toEqual([L, B, d]);
        check(enc.decoder_initial_state!.data as Float32Array, h0.flat(2), 'decoder_initial_state');

        const feeding = rnnHasInputFeeding(config);
        const lstm = config.rnnCell === 'lstm';
        let hidden = enc.decoder_initial_state!;
        let cell: ort.Tensor = new ort.Tensor('float32', new Float32Array(L * B * d), [L, B, d]);
        let attentional: ort.Tensor = new ort.Tensor('float32', new Float32Array(B * d), [B, d]);
        for (let t = 0; t < T; t++) {
          const ids = Array.from({ length: B }, (_, b) => target.ids[b * T + t]!);
          const feeds: Record<string, ort.Tensor> = {
            input_ids: int64(ids, [B, 1]),
            encoder_hidden_states: enc.last_hidden_state!,
            encoder_attention_mask: int64(source.mask, [B, S]),
            hidden_state: hidden,
          };
          if (feeding) feeds.attentional_state = attentional;
          if (lstm) feeds.cell_state = cell;
          const out = await decoder.run(feeds);
          expect(out.logits!.dims).toEqual([B, 1, VOCAB]);
          check(out.logits!.data as Float32Array, logits.map((row) => row[t]!).flat(), `logits at step ${t}`);
          if (cross) check(out.attention_weights!.data as Float32Array, cross.map((row) => row[0]![t]!).flat(), `attention weights at step ${t}`);
          else expect(out.attention_weights).toBeUndefined();
          hidden = out.present_hidden_state!;
          if (feeding) attentional = out.present_attentional_state!;
          if (lstm) cell = out.present_cell_state!;
          else expect(out.present_cell_state).toBeUndefined();
        }
        expect(worst).toBeGreaterThan(0); // two implementations, not one run twice
        tf.dispose([expected.logits, ...expected.attention!.cross, statesT]);
      } finally {
        await encoder.release();
        await decoder.release();
        model.dispose();
      }
    });
  });

  it('rejects another preset and a checkpoint of another config with one line', async () => {
    const config = createModelConfig({ preset: 'rnn-seq2seq', vocabSize: VOCAB, dModel: 8, maxSeqLen: 10, rnnAttention: 'dot' });
    const model = new RnnSeq2SeqModel(config);
    const { tensors } = parseSafetensors(serializeCheckpoint({ model })['model.safetensors']!);
    expect(() => exportRnnSeq2Seq(createModelConfig({ preset: 'encoder-decoder', vocabSize: VOCAB, dModel: 8, maxSeqLen: 10 }), tensors)).toThrow(/the rnn export is for 'rnn-seq2seq'/);
    expect(() => exportRnnSeq2Seq({ ...config, rnnAttention: 'general' }, tensors)).toThrow(/missing tensor 'decoder.attention.score.weight'/);
    expect(() => exportRnnSeq2Seq({ ...config, dModel: 10 }, tensors)).toThrow(/has shape \[.*\], expected/);
    model.dispose();
  });

  it('its export folder refuses NaN weights and a config larger than the weights, naming the tensor', async () => {
    const config = createModelConfig({ preset: 'rnn-seq2seq', vocabSize: VOCAB, dModel: 8, maxSeqLen: 10, rnnAttention: 'dot' });
    const model = new RnnSeq2SeqModel(config);
    const files = serializeCheckpoint({ model, tokenizer: CharTokenizer.fromAlphabet('abcdefghijklmnopqrstuvwxyz'.slice(0, VOCAB - 4)).toJSON() });
    model.dispose();
    const { tensors } = parseSafetensors(files['model.safetensors']!);
    const bias = toFloat32(tensors['decoder.rnn.bias_hh_l0']!);
    bias[1] = Number.NaN;
    const poisoned = { ...files, 'model.safetensors': serializeSafetensors({ ...tensors, 'decoder.rnn.bias_hh_l0': f32Tensor([bias.length], bias) }) };
    expect(() => exportFolderFiles(poisoned, { dir: 'ckpt' })).toThrow("ckpt/model.safetensors: tensor 'decoder.rnn.bias_hh_l0' holds NaN at index 1; weights must be finite");
    const deep = { ...files, 'config.json': new TextEncoder().encode(JSON.stringify({ ...config, numDecoderLayers: 1000 })) };
    expect(() => exportFolderFiles(deep, { dir: 'ckpt' })).toThrow("ckpt/model.safetensors: missing tensor 'decoder.rnn.bias_hh_l999' (config.json implies shape [24])");
  });
});
