// Text classification in the page (encoder-classifier exports): one forward call of the bert-
// layout graph over the input tokens, the class probabilities, and each layer's self-attention
// ([heads, T, T], when exported with attention) for the encoder heatmaps.

import { classifierConfig } from '@attend/core';
import { classifications, textModelSession, type Classification, type OnnxModel } from '@attend/runtime-onnx';
import type { DecodeResult } from './decode.js';
import { layerAttentions } from './heatmap.js';

export interface TextClassification extends Classification {
  /** Milliseconds of the session call. */
  ms: number;
  /** The input and its self-attention per layer, shaped as a decode's encoder side for the heatmaps. */
  result: DecodeResult;
}

/** Classifies one input (token ids, no bos; for a sentence pair each id's token type, `typeIds`) with the export's forward graph. */
export async function classifyText(model: OnnxModel, ids: number[], typeIds?: number[]): Promise<TextClassification> {
  const { numClasses } = classifierConfig(model.config, 'text classification');
  const T = ids.length;
  const started = performance.now();
  const types = typeIds ? { tokenTypeIds: { data: typeIds, batchSize: 1, seqLen: T } } : {};
  const out = await textModelSession(model).run({ inputIds: { data: ids, batchSize: 1, seqLen: T }, attentionMask: { data: new Array<number>(T).fill(1), batchSize: 1, seqLen: T }, ...types });
  const ms = performance.now() - started;
  const [{ label, probabilities }] = classifications(out.logits.data, 1, numClasses) as [Classification];
  return { label, probabilities, ms, result: { input: ids, decoderInputs: [], output: [], steps: [], finishReason: 'eos', prefillMs: ms, encoder: layerAttentions(out.attentions) } };
}
