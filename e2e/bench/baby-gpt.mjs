// nanoGPT's CPU "baby GPT" as the e2e benches build it: decoder-lm, 4 layers, 4 heads, dModel
// 128, maxSeqLen 520, a 65-character vocabulary + attend's 4 specials, random weights (seed 1).

import { CharTokenizer, createModelConfig } from '@attend/core';
import { serializeCheckpoint, setupBackend, TransformerModel } from '@attend/transformer';

/** The baby GPT's tokenizer, config and checkpoint files (tfjs on its wasm backend builds it). */
export async function babyGpt() {
  await setupBackend(['wasm']);
  const tokenizer = CharTokenizer.fromAlphabet('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ .,;:!?\'-\n&()');
  const config = createModelConfig({ preset: 'decoder-lm', vocabSize: tokenizer.vocabSize, dModel: 128, numHeads: 4, numDecoderLayers: 4, dFf: 512, maxSeqLen: 520, dropout: 0 });
  const net = new TransformerModel(config, { seed: 1 });
  const files = serializeCheckpoint({ model: net, tokenizer: tokenizer.toJSON() });
  net.dispose();
  return { tokenizer, config, files };
}
