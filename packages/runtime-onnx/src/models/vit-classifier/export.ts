// vit-classifier in runtime-onnx: the ViT as a Transformer stack (ForwardGraph over
// core's vitStack), one forward graph (pixel_values in) in a vit-layout export folder with
// preprocessor_config.json and no tokenizer; classification over it is classify.ts.

import { vitPreprocessorConfig, vitStack, type VitClassifierConfig } from '@attend/core';
import { exportCheckpointParts } from '../../export.js';
import { EXPORT_FILES } from '../../folder-files.js';
import { ForwardGraph } from '../../transformer-graph.js';
import { LAYER_ATTENTIONS, type RuntimeKind } from '../kind.js';
import { ImageClassifierSession } from './session.js';

export const VIT_CLASSIFIER: RuntimeKind<VitClassifierConfig> = {
  layout: { graphs: { model: { file: EXPORT_FILES.model, graph: 'forward', attentions: LAYER_ATTENTIONS } }, tokenizer: false, files: [EXPORT_FILES.preprocessorConfig], transformersJsFiles: [] },
  sessions: { forward: ImageClassifierSession },
  forward: { forward: (config, weights, g, withAttention) => new ForwardGraph(vitStack(config), weights, g).buildVit(withAttention) },
  exportGraphs: (_config, { files, dir, withAttention, optimize }) => ({ [EXPORT_FILES.model]: exportCheckpointParts(files, { dir, withAttention, optimize }) }),
  folderJson: (config) => ({ [EXPORT_FILES.preprocessorConfig]: vitPreprocessorConfig(config) }),
};
