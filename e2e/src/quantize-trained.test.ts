// int8 weight quantization keeps the exact-match accuracy of a tiny LM trained for a few
// seconds on core's copyTask: trained in tfjs, exported, quantized and run on onnxruntime-node
// (fp32 and int8 exact match printed with QUANT_REPORT=1).

import { beforeAll, describe, expect, it } from 'vitest';
import { argmax, copyTask, createModelConfig } from '@attend/core';
import { lmTrainBatch, serializeCheckpoint, setupBackend, train, TransformerModel } from '@attend/transformer';
import { createOnnxModel, exportCheckpointFiles, quantizeModel, textModelSession, type OnnxModel } from '@attend/runtime-onnx/node';

beforeAll(async () => {
  await setupBackend();
});

describe('accuracy loss on a trained model', () => {
  it('an LM trained for seconds on copyTask keeps its exact match under int8', async () => {
    // Sequence: bos, source, sep, target(= source), eos. Letters a–h, length 3–5.
    const alphabet = 'abcdefgh';
    const PAD = 0, BOS = 1, SEP = 2, EOS = 3;
    const id = (ch: string): number => 4 + alphabet.indexOf(ch);
    const T = 1 + 5 + 1 + 5 + 1;
    const encode = (p: { source: string; target: string }): number[] => [BOS, ...Array.from(p.source, id), SEP, ...Array.from(p.target, id), EOS];
    const trainPairs = copyTask({ count: 4000, seed: 1, alphabet, minLength: 3, maxLength: 5 });
    const testPairs = copyTask({ count: 200, seed: 2, alphabet, minLength: 3, maxLength: 5 });
    const config = createModelConfig({ preset: 'decoder-lm', vocabSize: 4 + alphabet.length, dModel: 64, numHeads: 4, numDecoderLayers: 2, dFf: 128, maxSeqLen: 16, dropout: 0, positional: 'learned', padTokenId: PAD, bosTokenId: BOS, eosTokenId: EOS });
    const model = new TransformerModel(config, { seed: 3 });
    const B = 32;
    const STEPS = 400;
    const batch = (step: number) => {
      const ids = new Int32Array(B * T);
      const labels = new Int32Array(B * T);
      const lengths = new Int32Array(B);
      for (let b = 0; b < B; b++) {
        const seq = encode(trainPairs[((step - 1) * B + b) % trainPairs.length]!);
        ids.set(seq.slice(0, -1), b * T);
        labels.set(seq.slice(1), b * T);
        lengths[b] = seq.length - 1;
      }
      return lmTrainBatch({ batchSize: B, seqLen: T, inputIds: ids, labels, lengths });
    };
    const t0 = performance.now();
    await train(model, batch, { steps: STEPS, learningRate: 3e-3, logEvery: 100 });
    const trainSeconds = (performance.now() - t0) / 1000;
    const files = serializeCheckpoint({ model });
    model.dispose();
    const fp32 = await createOnnxModel(exportCheckpointFiles(files));
    const int8Bytes = quantizeModel(exportCheckpointFiles(files), { minElements: 256 });
    const int8 = await createOnnxModel(int8Bytes);
    // Teacher-forced exact match: every target token (and eos) is the argmax at its position,
    // which is what greedy decoding after the separator produces.
    const exactMatch = async (m: OnnxModel): Promise<number> => {
      const N = testPairs.length;
      const ids = new Int32Array(N * T);
      const mask = new Int32Array(N * T);
      const seqs = testPairs.map(encode);
      seqs.forEach((s, i) => {
        ids.set(s.slice(0, -1), i * T);
        mask.fill(1, i * T, i * T + s.length - 1);
      });
      const { logits } = await textModelSession(m).run({ inputIds: { data: ids, batchSize: N, seqLen: T }, attentionMask: { data: mask, batchSize: N, seqLen: T } });
      const Vc = config.vocabSize;
      let correct = 0;
      seqs.forEach((s, i) => {
        const sep = s.indexOf(SEP);
        let ok = true;
        for (let t = sep; t < s.length - 1; t++) if (argmax(logits.data, (i * T + t) * Vc, Vc) !== s[t + 1]) ok = false;
        if (ok) correct++;
      });
      return correct / N;
    };
    const [emFp32, emInt8] = [await exactMatch(fp32), await exactMatch(int8)];
    await fp32.release();
    await int8.release();
    if (process.env.QUANT_REPORT) console.log(`int8 quantization: ${JSON.stringify({ trainSteps: STEPS, trainSeconds: +trainSeconds.toFixed(1), exactMatchFp32: emFp32, exactMatchInt8: emInt8, testExamples: testPairs.length })} (trained copy-task LM)`);
    expect(emFp32).toBeGreaterThanOrEqual(0.5);
    expect(Math.abs(emFp32 - emInt8)).toBeLessThanOrEqual(0.05);
  }, 180_000);
});
