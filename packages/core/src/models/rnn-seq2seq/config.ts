// The recurrent encoder–decoder of the seeds: a GRU or LSTM encoder (bidirectional by default),
// a decoder of the same cell started from a tanh bridge over the encoder's final states, and
// the decoder's attention over the encoder states — none (Sutskever/Cho), Bahdanau's additive,
// or Luong's dot / general / concat / local-p.

import { ConfigError } from '../../errors.js';
import type { ModelKind } from '../kind.js';
import { rnnSeq2SeqConfig } from './hf.js';
import { logitActivations } from '../stack.js';
import { BASE_FIELDS, TOKEN_FIELDS, baseFields, bool, int, layers, oneOf, tokenFields, type BaseFields, type TiedFields, type TokenFields } from '../fields.js';

/** Recurrent cells (GRU, Cho et al., 2014; LSTM without peepholes, as PyTorch's nn.LSTM). */
export const RNN_CELLS = ['gru', 'lstm'] as const;
/**
 * Attention of the decoder: none (Sutskever/Cho), additive (Bahdanau et al., 2015: scores from
 * the previous decoder state, context fed into the cell), and Luong et al.'s (2015) global dot /
 * general / concat and local-p (predicted window centre, Gaussian weighting) over the current
 * decoder state, with input feeding.
 */
export const RNN_ATTENTIONS = ['none', 'additive', 'dot', 'general', 'concat', 'local-p'] as const;
export type RnnCell = (typeof RNN_CELLS)[number];
export type RnnAttention = (typeof RNN_ATTENTIONS)[number];

export interface RnnSeq2SeqConfig extends BaseFields, TokenFields, TiedFields {
  preset: 'rnn-seq2seq';
  /** Recurrent layers of the encoder; dModel is the embedding and hidden size. */
  numEncoderLayers: number;
  numDecoderLayers: number;
  rnnCell: RnnCell;
  rnnAttention: RnnAttention;
  /** Bidirectional encoder, dModel/2 units per direction (dModel must be even). */
  rnnBidirectional: boolean;
  /** For rnnAttention 'local-p': the half-width D of the window around p_t (σ = D/2); else null. */
  localWindow: number | null;
}

export const rnnSeq2Seq: ModelKind<RnnSeq2SeqConfig> = {
  preset: 'rnn-seq2seq',
  task: 'translation',
  description: 'GRU/LSTM encoder–decoder with Bahdanau or Luong attention',
  fields: ['preset', ...TOKEN_FIELDS, ...BASE_FIELDS, 'numEncoderLayers', 'numDecoderLayers', 'tieEmbeddings', 'rnnCell', 'rnnAttention', 'rnnBidirectional', 'localWindow'],
  laterFields: {},
  defaults: () => ({
    preset: 'rnn-seq2seq',
    dModel: 128,
    maxSeqLen: 128,
    dropout: 0.1,
    padTokenId: 0,
    bosTokenId: 1,
    eosTokenId: 2,
    numEncoderLayers: 1,
    numDecoderLayers: 1,
    tieEmbeddings: true,
    rnnCell: 'gru',
    rnnAttention: 'general',
    rnnBidirectional: true,
    localWindow: null,
  }),
  hfConfig: rnnSeq2SeqConfig,
  validate(v) {
    const config: RnnSeq2SeqConfig = {
      preset: 'rnn-seq2seq',
      ...tokenFields(v),
      ...baseFields(v),
      numEncoderLayers: layers(v, 'numEncoderLayers'),
      numDecoderLayers: layers(v, 'numDecoderLayers'),
      tieEmbeddings: bool(v, 'tieEmbeddings'),
      rnnCell: oneOf(v, 'rnnCell', RNN_CELLS),
      rnnAttention: oneOf(v, 'rnnAttention', RNN_ATTENTIONS),
      rnnBidirectional: bool(v, 'rnnBidirectional'),
      localWindow: v.localWindow === null ? null : int(v, 'localWindow', 1),
    };
    if (config.rnnBidirectional && config.dModel % 2 !== 0) {
      throw new ConfigError('dModel', `${config.dModel} must be even for a bidirectional encoder (dModel/2 units per direction)`);
    }
    if (config.rnnAttention === 'local-p' && config.localWindow === null) {
      throw new ConfigError('localWindow', `rnnAttention 'local-p' needs the window half-width D (an integer >= 1, e.g. 4; σ = D/2), got null`);
    }
    if (config.rnnAttention !== 'local-p' && config.localWindow !== null) {
      throw new ConfigError('localWindow', `${config.localWindow} is only used by rnnAttention 'local-p' (got '${config.rnnAttention}'); use null`);
    }
    if (config.localWindow !== null && config.localWindow >= config.maxSeqLen) {
      throw new ConfigError('localWindow', `${config.localWindow} covers the whole sequence (maxSeqLen=${config.maxSeqLen}); use a smaller half-width`);
    }
    return config;
  },
  flops: rnnFlops,
  activations: (config, { context, source }) => {
    // Each step of each layer keeps its gates, their activations and the new state (∝ dModel);
    // the decoder's attention its scores over the source; then the logits.
    const gates = config.rnnCell === 'lstm' ? 4 : 3;
    const perStep = 3 * gates * config.dModel;
    const attention = config.rnnAttention === 'none' ? 0 : 3 * source + 4 * config.dModel;
    return (source + context) * config.dModel + source * config.numEncoderLayers * perStep + context * (config.numDecoderLayers * perStep + attention) + logitActivations(context, config.vocabSize);
  },
  sizedWeights: (config) => {
    // The last layer's hidden-to-hidden bias of each stack: [gates × hidden], hidden = dModel / directions.
    const gates = config.rnnCell === 'lstm' ? 4 : 3;
    const directions = config.rnnBidirectional ? 2 : 1;
    return {
      'embed_tokens.weight': [config.vocabSize, config.dModel],
      [`encoder.rnn.bias_hh_l${config.numEncoderLayers - 1}`]: [(gates * config.dModel) / directions],
      [`decoder.rnn.bias_hh_l${config.numDecoderLayers - 1}`]: [gates * config.dModel],
    };
  },
};

/**
 * Per encoder token plus per decoder token: each layer and direction 2·G·H·(in + H) (input and
 * recurrent gate products; G = 3 gates for the GRU, 4 for the LSTM); the decoder's attention
 * over the S source states — the score function's products (as the Transformer's, one head;
 * the additive key projection counted per encoder token), the context sum 2·S·d, local-p's
 * position predictor 2·d² + 2·d (its window is applied as a mask over all S scores, so all are
 * counted), the combination W_c[c; s] 2·2d·d — and the output layer 2·d·V. The bridge to the
 * decoder's initial state runs once per sequence and is left out.
 */
function rnnFlops(config: RnnSeq2SeqConfig, { source }: { source: number }) {
  const d = config.dModel;
  const attention = config.rnnAttention;
  const score = attention === 'none' ? undefined : attention === 'dot' ? 'dot' : attention === 'additive' || attention === 'concat' ? 'additive' : 'general';
  const modules = [];
  const gates = config.rnnCell === 'lstm' ? 4 : 3;
  const cell = (input: number, hidden: number): number => 2 * gates * hidden * (input + hidden);
  const directions = config.rnnBidirectional ? 2 : 1;
  for (let l = 0; l < config.numEncoderLayers; l++) modules.push({ module: `encoder.rnn.l${l}`, flops: directions * cell(d, d / directions) });
  if (score === 'additive') modules.push({ module: 'decoder.attention.score.key', flops: 2 * d * d });
  for (let l = 0; l < config.numDecoderLayers; l++) modules.push({ module: `decoder.rnn.l${l}`, flops: cell(l === 0 && score ? 2 * d : d, d) });
  if (score) {
    const products = (score === 'dot' ? 0 : 2 * d * d) + 2 * source * d; // general: q·W; additive: W_q·q (keys: per encoder token)
    const position = attention === 'local-p' ? 2 * d * d + 2 * d : 0;
    modules.push({ module: 'decoder.attention', flops: products + position + 2 * source * d });
    modules.push({ module: 'decoder.attention_combine', flops: 2 * 2 * d * d });
  }
  modules.push({ module: 'lm_head', flops: 2 * d * config.vocabSize });
  return modules;
}
