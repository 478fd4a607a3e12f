// vit-classifier in runtime-onnx: the ViT as a Transformer stack (the patch encoder over
// core's vitStack, patch-encoder.ts), one forward graph (pixel_values in) in a vit-layout export folder with
// preprocessor_config.json and no tokenizer; classification over it is classify.ts.

import { vitPatchGrid, vitPreprocessorConfig, vitStack, type VitClassifierConfig } from '@attend/core';
import { exportCheckpointParts } from '../../export.js';
import { EXPORT_FILES } from '../../folder-files.js';
import { BATCH, type VitStack } from '../../transformer-graph.js';
import { LAYER_ATTENTIONS, type RuntimeKind } from '../kind.js';
import { PatchEncoderGraph } from './patch-encoder.js';
import { ImageClassifierSession } from './session.js';

/** The vit-classifier's graph builder. */
class VitGraph extends PatchEncoderGraph<VitStack> {
  /**
   * The forward graph, as @attend/transformer's VitModel: pixel_values [B, C, S, S] (raw values;
   * × pixelScale here) → logits [B, classes] (+ attentions.{i} [B, H, N + 1, N + 1]).
   */
  build(withAttention: boolean): void {
    const { states, maps, T } = this.encodePatches(vitPatchGrid(this.config));
    this.g.output('logits', this.classify(states), 'float32', [BATCH, this.config.numClasses]);
    if (withAttention) this.outputMaps('attentions', maps, T, T);
  }
}

export const VIT_CLASSIFIER: RuntimeKind<VitClassifierConfig> = {
  layout: { graphs: { model: { file: EXPORT_FILES.model, graph: 'forward', attentions: LAYER_ATTENTIONS } }, tokenizer: false, files: [EXPORT_FILES.preprocessorConfig], transformersJsFiles: [] },
  sessions: { forward: ImageClassifierSession },
  forward: { forward: (config, weights, g, withAttention) => new VitGraph(vitStack(config), weights, g).build(withAttention) },
  exportGraphs: (_config, { files, dir, withAttention, optimize }) => ({ [EXPORT_FILES.model]: exportCheckpointParts(files, { dir, withAttention, optimize }) }),
  folderJson: (config) => ({ [EXPORT_FILES.preprocessorConfig]: vitPreprocessorConfig(config) }),
};
