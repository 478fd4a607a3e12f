// The vision-encoder-decoder's export, in the layout transformers.js's VisionEncoderDecoderModel
// (pipeline 'image-to-text') loads: the vit-classifier's patch encoder (PatchEncoderGraph) and
// the encoder-decoder's merged decoder (ForwardGraph).
//
//   encoder_model.onnx          pixel_values [B, 1, H, W] (raw values) → last_hidden_state [B, N + 1, d]
//                               (+ encoder_attentions.{i})
//   decoder_model_merged.onnx   input_ids [B, T], encoder_hidden_states [B, N + 1, d],
//                               past_key_values.{i}.decoder|encoder.key|value, use_cache_branch bool [1]
//                               → logits [B, T, V], present.{i}.decoder|encoder.key|value
//                               (+ decoder_attentions.{i}, cross_attentions.{i})
//
// The decoder is the encoder-decoder's (see exportSeq2Seq) without encoder_attention_mask: an
// image has no padding, and transformers.js feeds that input only when the graph lists it.
// config.json has model_type "vision-encoder-decoder" with vit and trocr sub-configs (core's
// visionEncoderDecoderConfig); preprocessor_config.json asks for no resizing, rescaling or
// normalising (pixelScale is in the graph).

import { GraphSession } from '../../graph-session.js';
import { captionDecoderConfig, captionPatchGrid, CHECKPOINT_FILES, patchEncoderStack, visionEncoderDecoderPreprocessorConfig, type NamedTensor, type VisionEncoderDecoderConfig } from '@attend/core';
import { EXPORT_FILES, generationConfig } from '../../folder-files.js';
import { encodeGraph } from '../../graph-file.js';
import { BATCH, ForwardGraph, type PatchEncoderStack } from '../../transformer-graph.js';
import { WeightReader } from '../../weights.js';
import { SEQ2SEQ_FILES } from '../encoder-decoder/export.js';
import { PatchEncoderGraph } from '../vit-classifier/patch-encoder.js';
import { visionCaptionLogits } from './session.js';
import { LAYER_ATTENTIONS, TEXT_FILES, type RuntimeKind } from '../kind.js';
import { checkedTensors } from '../rnn-seq2seq/export.js';
import { visionCaptionerTranslator } from './session.js';

/** The vision-encoder-decoder's encoder graph builder. */
class VisionEncoderGraph extends PatchEncoderGraph<PatchEncoderStack> {
  /**
   * encoder_model.onnx, as @attend/transformer's PatchEncoder: pixel_values [B, 1, H, W] (raw
   * values) → last_hidden_state [B, N + 1, d] (CLS first) (+ encoder_attentions.{i}).
   */
  build(withAttention: boolean): void {
    const { states, maps, T } = this.encodePatches(captionPatchGrid(this.config));
    this.g.output('last_hidden_state', states, 'float32', [BATCH, T, this.d]);
    if (withAttention) this.outputMaps('encoder_attentions', maps, T, T);
  }
}

/** The two graphs of a vision-encoder-decoder export (see the top of this file), as ONNX ModelProto bytes. */
export function exportVisionEncoderDecoder(
  config: VisionEncoderDecoderConfig,
  tensors: Record<string, NamedTensor>,
  options: { source?: string; withAttention?: boolean; optimize?: boolean } = {},
): { encoder: Uint8Array; decoder: Uint8Array } {
  const weights = new WeightReader(tensors, options.source ?? CHECKPOINT_FILES.weights);
  const withAttention = options.withAttention ?? false;
  const optimize = options.optimize ?? false;
  const encoder = encodeGraph(config, 'vision-encoder', `attend-${config.preset}-encoder`, (g) => new VisionEncoderGraph(patchEncoderStack(config), weights, g).build(withAttention), optimize);
  const decoder = encodeGraph(
    config,
    'vision-decoder',
    `attend-${config.preset}-decoder`,
    (g) => new ForwardGraph(captionDecoderConfig(config), weights, g).buildSeq2SeqDecoder(withAttention, { encoderMask: false }),
    optimize,
  );
  weights.checkAllUsed();
  return { encoder, decoder };
}

export const VISION_ENCODER_DECODER: RuntimeKind<VisionEncoderDecoderConfig> = {
  layout: {
    graphs: {
      encoder: { file: SEQ2SEQ_FILES.encoder, graph: 'vision-encoder', attentions: LAYER_ATTENTIONS },
      decoder: { file: SEQ2SEQ_FILES.decoder, graph: 'vision-decoder', attentions: LAYER_ATTENTIONS },
    },
    tokenizer: true,
    files: [EXPORT_FILES.preprocessorConfig],
    transformersJsFiles: TEXT_FILES,
  },
  // Run on their raw ONNX Runtime sessions (session.ts here), as the image-captioner's.
  sessions: { 'vision-encoder': GraphSession, 'vision-decoder': GraphSession },
  forward: { none: 'exports as encoder_model.onnx and decoder_model_merged.onnx: use exportVisionEncoderDecoder' },
  exportGraphs: (config, checkpoint) => {
    const { tensors, source } = checkedTensors(config, checkpoint);
    const { encoder, decoder } = exportVisionEncoderDecoder(config, tensors, { source, withAttention: checkpoint.withAttention, optimize: checkpoint.optimize });
    return { [SEQ2SEQ_FILES.encoder]: encoder, [SEQ2SEQ_FILES.decoder]: decoder };
  },
  folderJson: (config) => ({ [EXPORT_FILES.generationConfig]: generationConfig(config), [EXPORT_FILES.preprocessorConfig]: visionEncoderDecoderPreprocessorConfig(config) }),
  // One word at a time through the decoder's caches, as transformers.js runs it.
  captionLogits: async (ort, sessions, config, pixels, target) => ({ logits: await visionCaptionLogits(ort, sessions, config, pixels, target, { cached: true }) }),
  captioner: visionCaptionerTranslator,
};
