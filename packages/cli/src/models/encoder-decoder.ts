// The CLI's encoder-decoder (Transformer): trains on pairs (--pairs FILE.tsv or a synthetic
// --task), translates; its attention maps are cross-attention, decoder and encoder
// self-attention. PAIRS_TRAINING serves the rnn-seq2seq too.

import { batchLengths, decodeRows, trainDevSplit, type DecodedRow, type EncoderDecoderConfig, type RnnSeq2SeqConfig, type TextPair, type TokenFields, type Tokenizer, type Translator } from '@attend/core';
import type { SourceBatch } from '@attend/runtime-onnx';
import { CliError } from '../errors.js';
import { tokenBatch } from '../runner.js';
import type { TrainData } from '../train-data.js';
import { decoded, exportLayers, greedyOptions, stackSteps, crossAttentionSet, type AttentionSet, type DecodedSequences } from './attention.js';
import { cachedDecodeMs, encoderDecoderSessions, forwardTimings, randomIds } from './bench.js';
import type { CliKind, TrainKind, Transformer } from './kind.js';
import { maxDiff, sourceAndTarget, tfjsLogits } from './parity.js';
import { checkedMaxSeqLen, decodedReport, textTokenizer } from './train.js';

type Pairs = Extract<TrainData, { preset: 'encoder-decoder' }>;

/** Pairs a model can learn a mapping from: neither every source nor every target the same. */
function checkPairs(source: string, pairs: readonly TextPair[]): void {
  for (const side of ['source', 'target'] as const) {
    const first = pairs[0]![side];
    if (pairs.length > 1 && pairs.every((p) => p[side] === first)) {
      throw new CliError(`${source}: every ${side} is ${JSON.stringify(first.length > 40 ? `${first.slice(0, 40)}…` : first)}; the pairs need different ${side}s to learn from`);
    }
  }
}

/** Training on pairs, for both encoder–decoders: dev exact match and BLEU, maxSeqLen from the longest pair. */
export const PAIRS_TRAINING: TrainKind<Pairs> = {
  data: 'encoder-decoder',
  unit: 'tok/s',
  tokenizerTexts: (data) => data.pairs.flatMap((p) => [p.source, p.target]),
  sizes(data, tokenizer) {
    const text = textTokenizer(tokenizer, data.source, data.preset);
    const maxSeqLen = 4 + data.pairs.reduce((n, p) => Math.max(n, text.encode(p.source).length, text.encode(p.target).length), 28);
    return { vocabSize: text.vocabSize, maxSeqLen: checkedMaxSeqLen(data.source, 'pair', maxSeqLen) };
  },
  task(t, data, tokenizer, model, s) {
    const text = textTokenizer(tokenizer, data.source, data.preset);
    const { pairs } = data;
    checkPairs(data.source, pairs);
    const devFraction = Math.min(0.1, s.devSize / pairs.length);
    const { train: trainPairs, dev } = trainDevSplit(pairs, { devFraction, seed: s.seed, key: (p) => p.source });
    if (dev.length === 0 || trainPairs.length === 0) {
      throw new CliError(`${data.source}: ${pairs.length} pair${pairs.length === 1 ? '' : 's'} are too few for a train and a dev set (dev takes 10%, by source sentence); give at least 10 pairs with different sources`);
    }
    const encodedMax = (texts: string[]) => texts.reduce((n, x) => Math.max(n, text.encode(x).length), 0);
    const maxSrcLen = Math.min(model.maxSeqLen, encodedMax(pairs.map((p) => p.source)) + 2);
    const maxTgtLen = Math.min(model.maxSeqLen - 2, encodedMax(pairs.map((p) => p.target)) + 1);
    const task = t.seq2seqTask(trainPairs, dev, text, { batchSize: s.batchSize, seed: s.seed, maxSrcLen, maxTgtLen });
    return {
      nextBatch: task.nextBatch,
      ...decodedReport(task),
      size: `${trainPairs.length} pairs, dev ${dev.length}`,
      lengths: batchLengths({ input: maxSrcLen, target: maxTgtLen + 1 }),
    };
  },
};

/** A random batch of `B` source and target rows of `n` tokens (both encoder–decoders). */
export function pairsBatch(config: TokenFields, B: number, n: number, seed: () => number) {
  const input = { ids: randomIds(config, B * n, seed()), batchSize: B, seqLen: n };
  const labels = randomIds(config, B * n, seed());
  return { input, target: { ids: randomIds(config, B * n, seed()), batchSize: B, seqLen: n }, labels };
}

/**
 * The greedy translation of `text` by a translator (a checkpoint's, asked for attention, or an
 * export's) through core's decoding loop, with the attention rows its steps return (no second,
 * teacher-forced pass) and the encoder's self-attention from its `start`: a checkpoint's and an
 * export's outputs under the same names.
 */
export async function translationOf(translator: Translator<SourceBatch>, config: EncoderDecoderConfig | RnnSeq2SeqConfig, tokenizer: Tokenizer, text: string) {
  const batch = tokenBatch(tokenizer, [text], config.maxSeqLen);
  const { step, release, attentions = {} } = await translator.start(batch);
  try {
    const [row] = await decodeRows(step, greedyOptions(config));
    return { output: tokenizer.decode(row!.ids), seq: decoded(config, Array.from(batch.ids), row!), row: row!, encoder: attentions, sourceLength: batch.seqLen };
  } finally {
    release?.();
  }
}

/** Cross-attention, decoder and encoder self-attention of a translation. */
function seq2seqSets(tokenizer: Tokenizer, seq: DecodedSequences, H: number, maps: { encoder: Float32Array[]; decoder: Float32Array[]; cross: Float32Array[] }): AttentionSet[] {
  const produced = tokenizer.idsToTokens(seq.produced);
  const source = tokenizer.idsToTokens(seq.source);
  return [
    crossAttentionSet(tokenizer, seq, 'cross-attention (output × source)', H, maps.cross),
    { name: 'decoder', title: 'decoder self-attention', queryTokens: produced, keyTokens: tokenizer.idsToTokens(seq.target), queryAxis: 'output token', keyAxis: 'decoder input token', numHeads: H, layers: maps.decoder },
    { name: 'encoder', title: 'encoder self-attention', queryTokens: source, keyTokens: source, queryAxis: 'source token', keyAxis: 'source token', numHeads: H, layers: maps.encoder },
  ];
}

/** The maps of one decoded row (either backend): the encoder's outputs and the decoding's per-step attention rows, stacked per layer. */
function seq2seqMaps(where: string, config: EncoderDecoderConfig, encoder: Readonly<Record<string, { data: Float32Array }>>, row: DecodedRow, S: number) {
  const L = config.numDecoderLayers;
  const Q = row.steps.length;
  return {
    encoder: exportLayers(where, encoder, 'encoder_attentions', config.numEncoderLayers),
    decoder: Array.from({ length: L }, (_, l) => stackSteps(where, row.steps, `decoder_attentions.${l}`, Q)),
    cross: Array.from({ length: L }, (_, l) => stackSteps(where, row.steps, `cross_attentions.${l}`, S)),
  };
}

export const ENCODER_DECODER: CliKind<EncoderDecoderConfig> = {
  train: PAIRS_TRAINING,
  attention: {
    async checkpoint(t, model, config, tokenizer, text) {
      const { output, seq, row, encoder, sourceLength } = await translationOf(t.tfjsTranslator(model, { attention: true }), config, tokenizer!, text);
      return { output, sets: seq2seqSets(tokenizer!, seq, config.numHeads, seq2seqMaps('the checkpoint', config, encoder, row, sourceLength)) };
    },
    async export(dir, config, text) {
      const rt = await import('@attend/runtime-onnx/node');
      const { model, tokenizer } = await rt.loadSeq2SeqFolder(dir);
      try {
        const { output, seq, row, encoder, sourceLength } = await translationOf(rt.onnxTranslator(model), config, tokenizer, text);
        return { output, sets: seq2seqSets(tokenizer, seq, config.numHeads, seq2seqMaps(dir, config, encoder, row, sourceLength)) };
      } finally {
        await model.encoder.release();
        await model.decoder.release();
      }
    },
  },
  async parity(_t, model, config, exportDir) {
    const rt = await import('@attend/runtime-onnx/node');
    const { source, target, T } = sourceAndTarget(config);
    const { model: onnx } = await rt.loadSeq2SeqFolder(exportDir);
    try {
      const memory = await rt.encodeSource(onnx.encoder, { ids: source.ids, batchSize: source.batchSize, seqLen: source.seqLen, lengths: source.lengths! });
      const out = await onnx.decoder.runSeq2SeqDecoder({ inputIds: { data: target.ids, batchSize: target.batchSize, seqLen: T }, encoderHiddenStates: memory.states, encoderAttentionMask: memory.mask });
      return { maxAbsDiff: maxDiff(tfjsLogits(model, source, target), out.logits.data), rows: source.batchSize, seqLen: T };
    } finally {
      await onnx.encoder.release();
      await onnx.decoder.release();
    }
  },
  bench: {
    async export(rt, config, sessions, ids, seconds) {
      const { encoder, decoder } = rt.checkSeq2SeqModel(encoderDecoderSessions(sessions));
      const n = ids.length;
      const target = Int32Array.from(ids, (x, i) => (i === 0 ? config.bosTokenId : x));
      const timings = await forwardTimings(async () => {
        const { lastHiddenState } = await encoder.encode({ inputIds: { data: ids, batchSize: 1, seqLen: n } });
        await decoder.runSeq2SeqDecoder({ inputIds: { data: target, batchSize: 1, seqLen: n }, encoderHiddenStates: lastHiddenState });
      }, seconds);
      const memory = await rt.encodeSource(encoder, { ids, batchSize: 1, seqLen: n });
      const decodeMs = await cachedDecodeMs(() => rt.onnxSeq2SeqStepFunction(decoder, memory), config, Math.min(16, config.maxSeqLen - 1), seconds);
      return { ...timings, ...(decodeMs === undefined ? {} : { decodeMs }) };
    },
    trainBatch: (_t, config, B, n, rng) => pairsBatch(config, B, n, () => rng.int(1 << 30)),
  },
  flopsLength: 'context',
  serve: 'translate',
};
