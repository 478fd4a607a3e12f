// The Hugging Face config.json of this kind's export folder: the field names transformers.js
// reads for the architecture whose interface the graphs follow, plus the full attend config
// under `attend` (read back by the export-folder loader).

import type { RnnSeq2SeqConfig } from './config.js';

/** config.json's model_type of an rnn-seq2seq folder: attend's own, no transformers.js architecture. */
export const RNN_SEQ2SEQ_MODEL_TYPE = 'attend-rnn-seq2seq';

/** config.json of an rnn-seq2seq folder (attend-only model_type), with the full config under `attend`. */
export function rnnSeq2SeqConfig(config: RnnSeq2SeqConfig): Record<string, unknown> {
  return {
    model_type: RNN_SEQ2SEQ_MODEL_TYPE,
    is_encoder_decoder: true,
    vocab_size: config.vocabSize,
    d_model: config.dModel,
    encoder_layers: config.numEncoderLayers,
    decoder_layers: config.numDecoderLayers,
    rnn_cell: config.rnnCell,
    rnn_attention: config.rnnAttention,
    bos_token_id: config.bosTokenId,
    eos_token_id: config.eosTokenId,
    pad_token_id: config.padTokenId,
    decoder_start_token_id: config.bosTokenId,
    attend: config,
  };
}
