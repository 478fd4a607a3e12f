// decoder-lm in runtime-onnx: the Transformer decoder (ForwardGraph) as a plain forward graph,
// or as the KV-cache graph that its export folder holds (gpt2 layout, onnx/model.onnx);
// generation over it is generate.ts. With kvCache 'shared' the folder also holds the in-place
// cache graph (onnx/model_shared_cache.onnx, GroupQueryAttention over buffers bound as past and
// present), which generation uses instead on onnxruntime-node's CPU and, in GPU buffers, on
// onnxruntime-web's webgpu build (gpu-cache.ts); transformers.js reads
// only onnx/model.onnx.

import type { DecoderLmConfig } from '@attend/core';
import { exportCheckpointGraphs } from '../../export.js';
import { EXPORT_FILES, generationConfig } from '../../folder-files.js';
import { asSession } from '../../graph-session.js';
import { ForwardGraph } from '../../transformer-graph.js';
import { LAYER_ATTENTIONS, TEXT_FILES, type RuntimeKind } from '../kind.js';
import { TokenForwardSession } from '../encoder-classifier/session.js';
import { CachedLmSession, SharedCacheLmSession } from './session.js';

/** The decoder-lm folder's optional graph file. */
export const DECODER_LM_FILES = { sharedCache: 'onnx/model_shared_cache.onnx' } as const;

export const DECODER_LM: RuntimeKind<DecoderLmConfig> = {
  layout: {
    graphs: { model: { file: EXPORT_FILES.model, graph: 'decoder-with-past', attentions: LAYER_ATTENTIONS } },
    tokenizer: true,
    files: [],
    transformersJsFiles: TEXT_FILES,
    optionalGraphs: {
      'decoder-shared-cache': {
        file: DECODER_LM_FILES.sharedCache,
        graph: 'decoder-shared-cache',
        // On wasm it runs but copies its cache as the standard graph does, no faster (SharedCacheLmSession);
        // on webgpu only onnxruntime-web's webgpu build shares the bound buffer (the playground's e2e/shared-cache-webgpu.test.ts).
        devices: ['cpu', 'webgpu'],
        attach: (model, extra) => asSession(model, CachedLmSession).useInPlaceCache(asSession(extra, SharedCacheLmSession)),
      },
    },
  },
  sessions: { forward: TokenForwardSession, 'decoder-with-past': CachedLmSession, 'decoder-shared-cache': SharedCacheLmSession },
  forward: {
    forward: (config, weights, g, withAttention) => new ForwardGraph(config, weights, g).buildLm(withAttention),
    'decoder-with-past': (config, weights, g, withAttention) => new ForwardGraph(config, weights, g).buildDecoderWithPast(withAttention),
    'decoder-shared-cache': (config, weights, g) => new ForwardGraph(config, weights, g).buildDecoderSharedCache(),
  },
  exportGraphs: (_config, { files, dir, withAttention, optimize, kvCache }) => {
    // One read of the checkpoint, each Linear transposed once for both graphs (exportCheckpointGraphs).
    const [model, sharedCache] = exportCheckpointGraphs(files, dir, [{ kvCache: true, withAttention, optimize }, ...(kvCache === 'shared' ? [{ kvCache: 'shared' as const, withAttention }] : [])]);
    return { [EXPORT_FILES.model]: model!, ...(sharedCache ? { [DECODER_LM_FILES.sharedCache]: sharedCache } : {}) };
  },
  folderJson: (config) => ({ [EXPORT_FILES.generationConfig]: generationConfig(config) }),
};
