// encoder-classifier in runtime-onnx: the Transformer encoder with its classifier head
// (ForwardGraph), one forward graph in a bert-layout export folder (onnx/model.onnx, no
// generation config); classification over it is classify.ts.

import type { EncoderClassifierConfig } from '@attend/core';
import { exportCheckpointParts } from '../../export.js';
import { EXPORT_FILES } from '../../folder-files.js';
import { ForwardGraph } from '../../transformer-graph.js';
import { LAYER_ATTENTIONS, type RuntimeKind } from '../kind.js';
import { TokenForwardSession } from './session.js';

export const ENCODER_CLASSIFIER: RuntimeKind<EncoderClassifierConfig> = {
  layout: { graphs: { model: { file: EXPORT_FILES.model, graph: 'forward', attentions: LAYER_ATTENTIONS } }, tokenizer: true, files: [], transformersJsFiles: [EXPORT_FILES.tokenizerConfig] },
  sessions: { forward: TokenForwardSession },
  forward: { forward: (config, weights, g, withAttention) => new ForwardGraph(config, weights, g).buildClassifier(withAttention) },
  exportGraphs: (_config, { files, dir, withAttention, optimize }) => ({ [EXPORT_FILES.model]: exportCheckpointParts(files, { dir, withAttention, optimize }) }),
  folderJson: () => ({}),
};
