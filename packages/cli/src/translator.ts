// One translate() over either kind of model folder: a checkpoint decoded with tfjs
// (@attend/transformer) or an export folder decoded with onnxruntime-node
// (@attend/runtime-onnx), both with core's decoding strategies.

import { tokenizerFromJSON, type DecodeStrategy, type Tokenizer } from '@attend/core';
import { loadSeq2SeqFolder, translate as ortTranslate, type Device } from '@attend/runtime-onnx/node';
import { loadCheckpoint, setupBackend, translate as tfjsTranslate } from '@attend/transformer';
import { CliError } from './errors.js';
import { folderKind } from './model-folder.js';

export interface Translator {
  /** What runs the model, e.g. "onnxruntime-node (cpu)". */
  readonly runtime: string;
  readonly tokenizer: Tokenizer;
  translate(sources: readonly string[], strategy: DecodeStrategy, maxNewTokens?: number): Promise<string[]>;
  close(): Promise<void>;
}

/** Right-padded source ids [B, S] with each row's length. */
function sourceBatch(tokenizer: Tokenizer, sources: readonly string[], maxSeqLen: number) {
  const encoded = sources.map((s, i) => {
    const ids = tokenizer.encode(s);
    if (ids.length === 0) throw new CliError(`input ${i + 1} is empty`);
    if (ids.length > maxSeqLen) throw new CliError(`input ${i + 1} is ${ids.length} tokens long; the model takes at most ${maxSeqLen}`);
    return ids;
  });
  const seqLen = Math.max(...encoded.map((ids) => ids.length));
  const ids = new Int32Array(encoded.length * seqLen).fill(tokenizer.specialTokenIds.pad);
  encoded.forEach((row, b) => ids.set(row, b * seqLen));
  return { ids, batchSize: encoded.length, seqLen, lengths: Int32Array.from(encoded, (row) => row.length) };
}

export async function openTranslator(dir: string, device: Device = 'cpu'): Promise<Translator> {
  if ((await folderKind(dir)) === 'export') {
    const { model, tokenizer } = await loadSeq2SeqFolder(dir, { device });
    const { config } = model.encoder;
    const fallback = model.encoder.fallbacks[0];
    return {
      runtime: `onnxruntime-node (${model.encoder.device}${fallback ? `; ${fallback.device} unavailable: ${fallback.reason}` : ''})`,
      tokenizer,
      async translate(sources, strategy, maxNewTokens = config.maxSeqLen - 1) {
        const out = await ortTranslate(model, sourceBatch(tokenizer, sources, config.maxSeqLen), { maxNewTokens, strategy });
        return out.map((ids) => tokenizer.decode(ids));
      },
      async close() {
        await model.encoder.release();
        await model.decoder.release();
      },
    };
  }
  if (device !== 'cpu') throw new CliError(`--device ${device} needs an export folder (attend export); checkpoints run on tfjs`, 2);
  const backend = await setupBackend();
  const checkpoint = await loadCheckpoint(dir);
  if (checkpoint.config.preset !== 'encoder-decoder' && checkpoint.config.preset !== 'rnn-seq2seq') {
    throw new CliError(`${dir}: a ${checkpoint.config.preset} checkpoint; translate needs an encoder-decoder or rnn-seq2seq`);
  }
  if (checkpoint.tokenizer === undefined) throw new CliError(`${dir}: no tokenizer.json; cannot encode text for this checkpoint`);
  const tokenizer = tokenizerFromJSON(checkpoint.tokenizer, `${dir}/tokenizer.json`);
  const { model, config } = checkpoint;
  return {
    runtime: `tfjs (${backend.name})`,
    tokenizer,
    async translate(sources, strategy, maxNewTokens = config.maxSeqLen - 1) {
      const out = await tfjsTranslate(model, sourceBatch(tokenizer, sources, config.maxSeqLen), maxNewTokens, strategy);
      return out.map((ids) => tokenizer.decode(ids));
    },
    async close() {
      model.dispose();
    },
  };
}
