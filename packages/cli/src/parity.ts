// The parity check of an export: the checkpoint's tfjs forward pass and the export folder's
// onnxruntime-node graphs on the same few seeded inputs, compared as the largest absolute
// difference of their logits (the encoder–decoder's decoder run over whole target rows, the
// rnn-seq2seq decoder-step graph run over the target one token at a time, the LM's cache graph
// on its first call, the classifier's forward graph, the vit-classifier's graph on seeded images
// of patch tokens + CLS).

import { createRng, hasTokens, imageSeqLen, type ModelConfig, type TokenFields } from '@attend/core';
import { encodeRnnSource, encodeSource, loadExportFolder, loadRnnSeq2SeqFolder, loadSeq2SeqFolder, loadVitFolder, runRnnDecoder } from '@attend/runtime-onnx/node';
import { imageTrainBatch, loadCheckpoint, setupBackend, type TokenBatch } from '@attend/transformer';

export interface Parity {
  /** Largest |tfjs − ORT| over every logit of every input. */
  maxAbsDiff: number;
  /** Rows compared and their lengths (images: patch tokens + CLS). */
  rows: number;
  seqLen: number;
  /** The rows were images (vit-classifier). */
  images?: boolean;
}

/** Random rows of real tokens (no special ids where the vocabulary allows), right-padded with `lengths`. */
function randomRows(config: TokenFields, seed: number, lengths: number[]): TokenBatch {
  const rng = createRng(seed);
  const first = config.vocabSize > 8 ? 4 : 0; // past pad, bos, eos, unk
  const seqLen = lengths.reduce((a, b) => Math.max(a, b), 0);
  const ids = new Int32Array(lengths.length * seqLen).fill(config.padTokenId);
  lengths.forEach((n, b) => {
    for (let t = 0; t < n; t++) ids[b * seqLen + t] = first + rng.int(config.vocabSize - first);
  });
  return { ids, batchSize: lengths.length, seqLen, lengths: Int32Array.from(lengths) };
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`parity: ${a.length} tfjs logits but ${b.length} from onnxruntime`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Compares the checkpoint in `checkpointDir` with its export in `exportDir` on three seeded inputs. */
export async function exportParity(checkpointDir: string, exportDir: string): Promise<Parity> {
  await setupBackend();
  const { model, config } = await loadCheckpoint(checkpointDir);
  const T = Math.min(8, config.maxSeqLen);
  const lengths = [T, Math.max(1, T - 3), Math.max(1, T - 5)];
  try {
    const tfjsLogits = (input: TokenBatch, target?: TokenBatch): Float32Array => {
      const { logits } = model.forward(input, target);
      const values = logits.dataSync() as Float32Array;
      logits.dispose();
      return values;
    };
    const mask = (b: TokenBatch) => ({ data: Int32Array.from({ length: b.batchSize * b.seqLen }, (_, i) => (i % b.seqLen < b.lengths![Math.floor(i / b.seqLen)]! ? 1 : 0)), batchSize: b.batchSize, seqLen: b.seqLen });
    if (config.preset === 'rnn-seq2seq') {
      const source = randomRows(config, 1, lengths);
      const target = randomRows(config, 2, lengths.map(() => T));
      target.ids.forEach((_, i) => i % T === 0 && (target.ids[i] = config.bosTokenId));
      const { model: onnx } = await loadRnnSeq2SeqFolder(exportDir);
      try {
        const memory = await encodeRnnSource(onnx.encoder, { ids: source.ids, batchSize: source.batchSize, seqLen: source.seqLen, lengths: source.lengths! });
        const { logits } = await runRnnDecoder(onnx.decoder, memory, { data: target.ids, batchSize: target.batchSize, seqLen: T });
        return { maxAbsDiff: maxDiff(tfjsLogits(source, target), logits.data), rows: source.batchSize, seqLen: T };
      } finally {
        await onnx.encoder.release();
        await onnx.decoder.release();
      }
    }
    if (config.preset === 'encoder-decoder') {
      const source = randomRows(config, 1, lengths);
      const target = randomRows(config, 2, lengths.map(() => T));
      target.ids.forEach((_, i) => i % T === 0 && (target.ids[i] = config.bosTokenId));
      const { model: onnx } = await loadSeq2SeqFolder(exportDir);
      try {
        const memory = await encodeSource(onnx.encoder, { ids: source.ids, batchSize: source.batchSize, seqLen: source.seqLen, lengths: source.lengths! });
        const out = await onnx.decoder.runSeq2SeqDecoder({ inputIds: { data: target.ids, batchSize: target.batchSize, seqLen: T }, encoderHiddenStates: memory.states, encoderAttentionMask: memory.mask });
        return { maxAbsDiff: maxDiff(tfjsLogits(source, target), out.logits.data), rows: source.batchSize, seqLen: T };
      } finally {
        await onnx.encoder.release();
        await onnx.decoder.release();
      }
    }
    if (!hasTokens(config)) {
      // Raw pixel values spread over [0, 1 / pixelScale], the range the model was trained on.
      const rng = createRng(1);
      const count = 3;
      const top = 1 / (config.pixelScale ?? 1);
      const pixels = Float32Array.from({ length: count * config.numChannels! * config.imageSize! ** 2 }, () => rng.next() * top);
      const onnx = await loadVitFolder(exportDir);
      try {
        const out = await onnx.runImages(pixels, count);
        return { maxAbsDiff: maxDiff(tfjsLogits(imageTrainBatch(pixels, new Int32Array(count), config).input), out.logits.data), rows: count, seqLen: imageSeqLen(config), images: true };
      } finally {
        await onnx.release();
      }
    }
    const { model: onnx } = await loadExportFolder(exportDir);
    try {
      if (config.preset === 'decoder-lm') {
        const input = randomRows(config, 1, lengths.map(() => T));
        const out = await onnx.run({ inputIds: { data: input.ids, batchSize: input.batchSize, seqLen: T } });
        return { maxAbsDiff: maxDiff(tfjsLogits(input), out.logits.data), rows: input.batchSize, seqLen: T };
      }
      const input = randomRows(config, 1, lengths);
      const out = await onnx.run({ inputIds: { data: input.ids, batchSize: input.batchSize, seqLen: input.seqLen }, attentionMask: mask(input) });
      return { maxAbsDiff: maxDiff(tfjsLogits(input), out.logits.data), rows: input.batchSize, seqLen: input.seqLen };
    } finally {
      await onnx.release();
    }
  } finally {
    model.dispose();
  }
}
