// The CLI's decoder-lm: trains on a text file (--text) in windows of --context-length tokens,
// continues prompts; its attention maps are causal self-attention; its export also times
// cached decoding.

import { batchLengths, splitText, type DecoderLmConfig } from '@attend/core';
import { CliError } from '../errors.js';
import type { TrainData } from '../train-data.js';
import { textSelfAttention } from './attention.js';
import { cachedDecodeMs, forwardTimings, modelSession, randomIds } from './bench.js';
import type { CliKind, TrainKind } from './kind.js';
import { maxDiff, parityLengths, randomRows, tfjsLogits } from './parity.js';
import { DEV_LOSS, textTokenizer } from './train.js';

type Text = Extract<TrainData, { preset: 'decoder-lm' }>;

const TEXT_TRAINING: TrainKind<Text> = {
  data: 'decoder-lm',
  unit: 'tok/s',
  tokenizerTexts: (data) => [data.text],
  sizes: (data, tokenizer, s) => ({ vocabSize: textTokenizer(tokenizer, data.source, data.preset).vocabSize, maxSeqLen: s.contextLength }),
  task(t, data, tokenizer, model, s) {
    const text = textTokenizer(tokenizer, data.source, data.preset);
    const { train: trainText, val } = splitText(data.text, 0.9);
    const T = Math.min(s.contextLength, model.maxSeqLen);
    const trainIds = Int32Array.from(text.encode(trainText));
    const devIds = Int32Array.from(text.encode(val));
    if (trainIds.length < T + 2 || devIds.length < T + 1) {
      throw new CliError(`${data.source}: ${data.text.length} characters are too few for windows of ${T} tokens (lower --context-length)`);
    }
    const task = t.lmTask(trainIds, devIds, { batchSize: s.batchSize, contextLength: T, seed: s.seed });
    return {
      nextBatch: task.nextBatch,
      evaluate: (m, rows) => task.evaluate(m, rows),
      describeEval: (m) => `dev loss ${m.loss!.toFixed(4)} (perplexity ${m.perplexity!.toFixed(2)})`,
      best: [DEV_LOSS],
      size: `${trainIds.length.toLocaleString('en-US')} train / ${devIds.length.toLocaleString('en-US')} dev tokens, context ${T}`,
      lengths: batchLengths({ input: T }),
    };
  },
};

export const DECODER_LM: CliKind<DecoderLmConfig> = {
  train: TEXT_TRAINING,
  attention: textSelfAttention((c) => c.numDecoderLayers, true),
  async parity(_t, model, config, exportDir) {
    const rt = await import('@attend/runtime-onnx/node');
    const { T, lengths } = parityLengths(config.maxSeqLen);
    const { model: onnx, release } = await rt.loadExportFolder(exportDir);
    try {
      const input = randomRows(config, 1, lengths.map(() => T));
      const inputIds = { data: input.ids, batchSize: input.batchSize, seqLen: T };
      const want = tfjsLogits(model, input);
      let diff = maxDiff(want, (await onnx.run({ inputIds })).logits.data);
      if (onnx instanceof rt.CachedLmSession && onnx.inPlaceCache) {
        // The in-place cache graph generates on this machine: its logits over the same rows count too.
        const shared = await rt.openDecodeCache(onnx).start({ inputIds, attentionMask: { data: new Int32Array(input.ids.length).fill(1), batchSize: input.batchSize, seqLen: T } });
        diff = Math.max(diff, maxDiff(want, shared.logits.data));
      }
      return { maxAbsDiff: diff, rows: input.batchSize, seqLen: T };
    } finally {
      await release(); // the in-place cache graph too, where the folder has one
    }
  },
  bench: {
    async export(rt, config, sessions, ids, seconds) {
      const model = rt.textModelSession(modelSession(sessions));
      const n = ids.length;
      const timings = await forwardTimings(() => model.run({ inputIds: { data: ids, batchSize: 1, seqLen: n } }), seconds);
      const prompt = Array.from(ids.subarray(0, Math.min(8, n)));
      const decodeMs = await cachedDecodeMs(() => rt.onnxStepFunction(model, { prompts: [prompt] }), config, Math.min(16, config.maxSeqLen - prompt.length), seconds);
      return { ...timings, ...(decodeMs === undefined ? {} : { decodeMs }) };
    },
    trainBatch(_t, config, B, n, rng) {
      const input = { ids: randomIds(config, B * n, rng.int(1 << 30)), batchSize: B, seqLen: n };
      return { input, labels: randomIds(config, B * n, rng.int(1 << 30)) };
    },
  },
  flopsLength: 'context',
  serve: 'generate',
};
