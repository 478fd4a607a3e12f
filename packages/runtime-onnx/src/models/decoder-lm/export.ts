// decoder-lm in runtime-onnx: the Transformer decoder (ForwardGraph) as a plain forward graph,
// or as the KV-cache graph that its export folder holds (gpt2 layout, onnx/model.onnx);
// generation over it is generate.ts.

import type { DecoderLmConfig } from '@attend/core';
import { exportCheckpointParts } from '../../export.js';
import { EXPORT_FILES, generationConfig } from '../../folder-files.js';
import { ForwardGraph } from '../../transformer-graph.js';
import { LAYER_ATTENTIONS, TEXT_FILES, type RuntimeKind } from '../kind.js';
import { TokenForwardSession } from '../encoder-classifier/session.js';
import { CachedLmSession, SharedCacheLmSession } from './session.js';

export const DECODER_LM: RuntimeKind<DecoderLmConfig> = {
  layout: { graphs: { model: { file: EXPORT_FILES.model, graph: 'decoder-with-past', attentions: LAYER_ATTENTIONS } }, tokenizer: true, files: [], transformersJsFiles: TEXT_FILES },
  sessions: { forward: TokenForwardSession, 'decoder-with-past': CachedLmSession, 'decoder-shared-cache': SharedCacheLmSession },
  forward: {
    forward: (config, weights, g, withAttention) => new ForwardGraph(config, weights, g).buildLm(withAttention),
    'decoder-with-past': (config, weights, g, withAttention) => new ForwardGraph(config, weights, g).buildDecoderWithPast(withAttention),
    'decoder-shared-cache': (config, weights, g) => new ForwardGraph(config, weights, g).buildDecoderSharedCache(),
  },
  exportGraphs: (_config, { files, dir, withAttention, optimize }) => ({ [EXPORT_FILES.model]: exportCheckpointParts(files, { dir, kvCache: true, withAttention, optimize }) }),
  folderJson: (config) => ({ [EXPORT_FILES.generationConfig]: generationConfig(config) }),
};
