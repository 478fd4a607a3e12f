// The CLI's encoder-classifier: trains on a CSV of `text,label` rows, or `text,pair,label` rows
// of sentence pairs (token types 0 and 1; a new model gets typeVocabSize 2) (--csv), or a
// synthetic classification --task; its attention maps are self-attention over the text.

import { batchLengths, encoderPairIds, trainDevSplit, type EncoderClassifierConfig, type LabeledText } from '@attend/core';
import { CliError } from '../errors.js';
import type { TrainData } from '../train-data.js';
import { textSelfAttention } from './attention.js';
import { forwardTimings, modelSession, randomIds } from './bench.js';
import type { CliKind, TrainKind } from './kind.js';
import { maxDiff, parityLengths, randomRows, tfjsLogits } from './parity.js';
import { accuracyReport, checkedMaxSeqLen, textTokenizer } from './train.js';

type LabelledTexts = Extract<TrainData, { preset: 'encoder-classifier' }>;

/** Whether the data's rows are sentence pairs (`text,pair,label`). */
const paired = (data: LabelledTexts): boolean => data.examples.some((e) => e.pair !== undefined);

const LABELLED_TEXT_TRAINING: TrainKind<LabelledTexts> = {
  data: 'encoder-classifier',
  unit: 'examples/s',
  tokenizerTexts: (data) => data.examples.flatMap((e) => (e.pair === undefined ? [e.text] : [e.text, e.pair])),
  sizes(data, tokenizer) {
    const text = textTokenizer(tokenizer, data.source, data.preset);
    const length = (e: LabeledText) => (e.pair === undefined ? text.encode(e.text) : encoderPairIds(text, e.text, e.pair).ids).length;
    const maxSeqLen = 2 + data.examples.reduce((n, e) => Math.max(n, length(e)), 14);
    const types = paired(data) ? { typeVocabSize: 2 } : {};
    return { vocabSize: text.vocabSize, maxSeqLen: checkedMaxSeqLen(data.source, 'text', maxSeqLen), numClasses: data.numClasses, ...types };
  },
  task(t, data, tokenizer, model, s) {
    const text = textTokenizer(tokenizer, data.source, data.preset);
    if (paired(data) && !('typeVocabSize' in model && model.typeVocabSize > 0)) throw new CliError(`${data.source}: text,pair,label rows are sentence pairs, but the model has no token types (typeVocabSize 0); train a new model on them, or start --from one with token types (an imported BERT)`, 2);
    const devFraction = Math.min(0.1, s.devSize / data.examples.length);
    const { train: trainExamples, dev } = trainDevSplit(data.examples, { devFraction, seed: s.seed });
    if (dev.length === 0 || trainExamples.length === 0) throw new CliError(`${data.source}: too few rows for a train and a dev set (${data.examples.length})`);
    const maxLen = model.maxSeqLen;
    const task = t.classificationTask(trainExamples, dev, text, { batchSize: s.batchSize, seed: s.seed, maxLen });
    return {
      nextBatch: task.nextBatch,
      ...accuracyReport(task),
      size: `${trainExamples.length} examples, dev ${dev.length}`,
      lengths: batchLengths({ input: maxLen }),
    };
  },
};

export const ENCODER_CLASSIFIER: CliKind<EncoderClassifierConfig> = {
  train: LABELLED_TEXT_TRAINING,
  attention: textSelfAttention((c) => c.numEncoderLayers, false),
  async parity(_t, model, config, exportDir) {
    const rt = await import('@attend/runtime-onnx/node');
    const { lengths } = parityLengths(config.maxSeqLen);
    const { model: onnx } = await rt.loadExportFolder(exportDir);
    try {
      const input = randomRows(config, 1, lengths);
      const out = await onnx.run({ inputIds: { data: input.ids, batchSize: input.batchSize, seqLen: input.seqLen }, attentionMask: rt.encodeSourceMask(input) });
      return { maxAbsDiff: maxDiff(tfjsLogits(model, input), out.logits.data), rows: input.batchSize, seqLen: input.seqLen };
    } finally {
      await onnx.release();
    }
  },
  bench: {
    export: async (rt, _config, sessions, ids, seconds) => forwardTimings(() => rt.textModelSession(modelSession(sessions)).run({ inputIds: { data: ids, batchSize: 1, seqLen: ids.length } }), seconds),
    trainBatch(_t, config, B, n, rng) {
      const input = { ids: randomIds(config, B * n, rng.int(1 << 30)), batchSize: B, seqLen: n };
      return { input, labels: Int32Array.from({ length: B }, () => rng.int(config.numClasses)) };
    },
  },
  flopsLength: 'context',
  serve: 'classify',
};
