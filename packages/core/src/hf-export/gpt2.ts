// decoder-lm → GPT2LMHeadModel: learned positions, pre-norm blocks, no embedding scale or norm;
// the Conv1D and fused c_attn layouts come from the importer's table (hf-import/gpt2.ts).

import type { HfExporter } from './exporter.js';

export const gpt2Exporter: HfExporter = {
  className: 'GPT2LMHeadModel',
  kind: 'decoder-lm',
  fixed: { norm: 'pre', positional: 'learned', attention: 'scaled_dot', localWindow: null, scaleEmbedding: false, embeddingNorm: false },
  config: (config) => ({
    resid_pdrop: config.dropout,
    embd_pdrop: config.dropout,
    attn_pdrop: config.dropout,
    scale_attn_weights: true,
    scale_attn_by_inverse_layer_idx: false,
    initializer_range: 0.02,
  }),
  // A tied head is the token table; save_pretrained leaves it out of the file too.
  optional: ['lm_head.weight'],
};
