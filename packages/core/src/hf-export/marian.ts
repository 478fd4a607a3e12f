// encoder-decoder → MarianMTModel: post-norm layers with no embedding or final LayerNorm, one
// token table (`model.shared`; transformers ties the encoder/decoder `embed_tokens` and a tied
// `lm_head` to it, so save_pretrained writes it once), `final_logits_bias` [1, V], Marian's
// sinusoid table computed (positional 'sinusoidal_split', no tensor) or learned tables stored as
// `embed_positions.weight`. A layer's modules have attend's names, so every other tensor is the
// checkpoint's under `model.`; the names outside the layers come from the importer's table.

import { ConfigError } from '../errors.js';
import { MARIAN_TENSORS } from '../hf-import/marian.js';
import { describe } from '../models/fields.js';
import type { EncoderDecoderConfig } from '../models/encoder-decoder/config.js';
import type { NamedTensor } from '../safetensors.js';
import type { HfExporter } from './exporter.js';

/** The position tables Marian computes (sinusoidal_split) or loads (learned). */
const POSITIONS = ['sinusoidal_split', 'learned'];

export const marianExporter: HfExporter = {
  className: 'MarianMTModel',
  kind: 'encoder-decoder',
  fixed: { norm: 'post', attention: 'scaled_dot', localWindow: null, embeddingNorm: false, logitsBias: true, layerNormEps: 1e-5 },
  check(config) {
    const { positional } = config as EncoderDecoderConfig;
    if (!POSITIONS.includes(positional)) throw new ConfigError('positional', `${describe(positional)} has no equivalent in Hugging Face MarianMTModel (it has "sinusoidal_split" or stored tables, "learned")`);
  },
  config: (c) => {
    const config = c as EncoderDecoderConfig;
    return {
      dropout: config.dropout,
      attention_dropout: 0,
      activation_dropout: 0,
      normalize_embedding: false,
      static_position_embeddings: true,
      add_final_layer_norm: false,
      init_std: 0.02,
    };
  },
  tensors(_config, weights, name) {
    const tables: Readonly<Record<string, string>> = MARIAN_TENSORS;
    const out: Record<string, NamedTensor> = {};
    for (const [attend, t] of Object.entries(weights)) {
      out[name(tables[attend] ?? attend)] = attend === 'final_logits_bias' ? { ...t, shape: [1, ...t.shape] } : t;
    }
    return out;
  },
};
