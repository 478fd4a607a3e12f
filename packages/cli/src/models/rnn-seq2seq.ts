// The CLI's rnn-seq2seq (GRU/LSTM encoder–decoder): trains on pairs as the Transformer one does;
// its one attention map is the decoder's attention over the encoder states; its export's
// forward is the encoder plus the decoder-step graph over the target, one token at a time.

import type { RnnSeq2SeqConfig, Tokenizer } from '@attend/core';
import { CliError } from '../errors.js';
import { crossAttentionSet, stackSteps, type DecodedSequences } from './attention.js';
import { cachedDecodeMs, encoderDecoderSessions, forwardTimings } from './bench.js';
import { pairsBatch, PAIRS_TRAINING, translationOf } from './encoder-decoder.js';
import type { CliKind } from './kind.js';
import { maxDiff, sourceAndTarget, tfjsLogits } from './parity.js';

/** The GRU decoder's one attention over the encoder states (Bahdanau et al.'s figure 3). */
function rnnSets(config: RnnSeq2SeqConfig, tokenizer: Tokenizer, seq: DecodedSequences, layers: Float32Array[]) {
  return [crossAttentionSet(tokenizer, seq, `${config.rnnAttention} attention (output × source)`, 1, layers)];
}

export const RNN_SEQ2SEQ: CliKind<RnnSeq2SeqConfig> = {
  train: PAIRS_TRAINING,
  attention: {
    async checkpoint(t, model, config, tokenizer, text) {
      if (config.rnnAttention === 'none') throw new CliError("this rnn-seq2seq model has no attention (rnnAttention 'none')");
      const { output, seq, row, sourceLength } = await translationOf(t.tfjsTranslator(model, { attention: true }), config, tokenizer!, text);
      return { output, sets: rnnSets(config, tokenizer!, seq, [stackSteps('the checkpoint', row.steps, 'cross_attentions.0', sourceLength)]) };
    },
    async export(dir, config, text) {
      const rt = await import('@attend/runtime-onnx/node');
      const { model, tokenizer } = await rt.loadRnnSeq2SeqFolder(dir);
      try {
        if ((config.rnnAttention ?? 'none') === 'none') throw new CliError(`${dir}: this rnn-seq2seq model has no attention (rnnAttention 'none')`);
        const { output, seq, row, sourceLength } = await translationOf(rt.onnxTranslator(model), config, tokenizer, text);
        return { output, sets: rnnSets(config, tokenizer, seq, [stackSteps(dir, row.steps, 'attention', sourceLength)]) };
      } finally {
        await model.encoder.release();
        await model.decoder.release();
      }
    },
  },
  async parity(_t, model, config, exportDir) {
    const rt = await import('@attend/runtime-onnx/node');
    const { source, target, T } = sourceAndTarget(config);
    const { model: onnx } = await rt.loadRnnSeq2SeqFolder(exportDir);
    try {
      const memory = await rt.encodeRnnSource(onnx.encoder, { ids: source.ids, batchSize: source.batchSize, seqLen: source.seqLen, lengths: source.lengths! });
      const { logits } = await rt.runRnnDecoder(onnx.decoder, memory, { data: target.ids, batchSize: target.batchSize, seqLen: T });
      return { maxAbsDiff: maxDiff(tfjsLogits(model, source, target), logits.data), rows: source.batchSize, seqLen: T };
    } finally {
      await onnx.encoder.release();
      await onnx.decoder.release();
    }
  },
  bench: {
    async export(rt, config, sessions, ids, seconds) {
      // Forward: the encoder, then the decoder-step graph over the n target tokens (teacher forcing).
      const { encoder, decoder } = rt.checkRnnSeq2SeqModel(encoderDecoderSessions(sessions));
      const n = ids.length;
      const target = Int32Array.from(ids, (x, i) => (i === 0 ? config.bosTokenId : x));
      const source = { ids, batchSize: 1, seqLen: n };
      const timings = await forwardTimings(async () => {
        await rt.runRnnDecoder(decoder, await rt.encodeRnnSource(encoder, source), { data: target, batchSize: 1, seqLen: n });
      }, seconds);
      const memory = await rt.encodeRnnSource(encoder, source);
      const decodeMs = await cachedDecodeMs(() => rt.onnxRnnStepFunction(decoder, memory), config, Math.min(16, config.maxSeqLen - 1), seconds);
      return { ...timings, ...(decodeMs === undefined ? {} : { decodeMs }) };
    },
    trainBatch: (_t, config, B, n, rng) => pairsBatch(config, B, n, () => rng.int(1 << 30)),
  },
  flopsLength: 'source',
};
