// BERT (BertModel, BertForSequenceClassification) → encoder-classifier: word + learned position
// + token-type embeddings, an embedding LayerNorm, post-norm layers (eps 1e-12 by default),
// the pooler (dense + tanh on [CLS]) and the classifier. The token-type table is kept as the
// checkpoint's `embed_token_types.weight` (typeVocabSize rows: sentence pairs' segments A and B);
// a table of zeros adds nothing and is left out (typeVocabSize 0), as attend's own exports write one.

import { ConfigError } from '../errors.js';
import { createModelConfig } from '../config.js';
import { f32Tensor, type NamedTensor } from '../safetensors.js';
import { namedLabels } from '../models/hf-labels.js';
import { TOKEN_TYPES_WEIGHT } from '../models/encoder-classifier/config.js';
import { HF_ACTIVATIONS } from './gpt2.js';
import { linearShape, tensorCopier, specialTokenId, type HfConfig, type HfLayerLinears, type HfImporter, type HfModel, type HfWeights, type ImportedModel } from './model.js';

/** Labels of a config that names none (transformers' default num_labels), e.g. a BertModel's fresh head. */
const DEFAULT_LABELS = 2;

/** BERT's Linear modules of a layer, by attend's names. */
const BERT_LINEARS: HfLayerLinears = {
  attendLayers: 'encoder.layers',
  hfLayers: 'encoder.layer',
  modules: {
    'self_attn.q_proj': { module: 'attention.self.query' },
    'self_attn.k_proj': { module: 'attention.self.key' },
    'self_attn.v_proj': { module: 'attention.self.value' },
    'self_attn.out_proj': { module: 'attention.output.dense' },
    fc1: { module: 'intermediate.dense' },
    fc2: { module: 'output.dense' },
  },
  conv1d: false,
  norms: { self_attn_layer_norm: 'attention.output.LayerNorm', final_layer_norm: 'output.LayerNorm' },
};

/** BERT's tensors outside the layers, by attend's names. */
const BERT_TENSORS = {
  'embed_tokens.weight': 'embeddings.word_embeddings.weight',
  [TOKEN_TYPES_WEIGHT]: 'embeddings.token_type_embeddings.weight',
  'encoder.embed_positions.weight': 'embeddings.position_embeddings.weight',
  'encoder.layernorm_embedding.weight': 'embeddings.LayerNorm.weight',
  'encoder.layernorm_embedding.bias': 'embeddings.LayerNorm.bias',
  'pooler.weight': 'pooler.dense.weight',
  'pooler.bias': 'pooler.dense.bias',
  'classifier.weight': 'classifier.weight',
  'classifier.bias': 'classifier.bias',
} as const;

/** BERT's token-type table [type_vocab_size, d]. */
export const BERT_TOKEN_TYPES = BERT_TENSORS[TOKEN_TYPES_WEIGHT];

export const bertImporter: HfImporter = {
  architectures: ['BertForSequenceClassification', 'BertModel'],
  basePrefix: 'bert.',
  linears: BERT_LINEARS,
  tensors: BERT_TENSORS,
  heads: [BERT_TENSORS['classifier.weight'], BERT_TENSORS['classifier.bias']],
  import(model: HfModel, c: HfConfig, w: HfWeights): ImportedModel {
    const notes: string[] = [];
    const d = c.int('hidden_size');
    const numHeads = c.int('num_attention_heads');
    const layers = c.int('num_hidden_layers');
    const maxSeqLen = c.int('max_position_embeddings');
    const vocabSize = c.int('vocab_size');
    const dFf = c.int('intermediate_size');
    const typeVocab = c.optionalInt('type_vocab_size', 2);
    const types = w.take(BERT_TOKEN_TYPES, [typeVocab, d]);
    const typeVocabSize = types.some((x) => x !== 0) ? typeVocab : 0;
    const activation = c.oneOf('hidden_act', 'gelu', HF_ACTIVATIONS);
    c.only('position_embedding_type', 'absolute', 'absolute (learned) positions');
    c.only('is_decoder', false, 'the bidirectional encoder');
    c.only('add_cross_attention', false, 'the encoder without cross-attention');
    c.only('problem_type', 'single_label_classification', 'single_label_classification');
    const labels = c.labels();
    if (labels && labels.length < 2) throw new ConfigError(`${model.source}/config.json: num_labels`, `${labels.length} (regression) is not supported; attend imports classifiers with at least 2 labels`);
    const hasHead = w.has('classifier.weight');
    const numClasses = labels?.length ?? DEFAULT_LABELS;
    const hasPooler = w.has(BERT_TENSORS['pooler.weight']);
    const pad = specialTokenId(model, 'pad_token_id', 'pad_token') ?? 0;
    const config = createModelConfig({
      preset: 'encoder-classifier',
      vocabSize, numClasses, dModel: d, numHeads, dFf, maxSeqLen, numEncoderLayers: layers,
      dropout: c.number('hidden_dropout_prob', 0.1),
      norm: 'post', activation, positional: 'learned', attention: 'scaled_dot', localWindow: null,
      layerNormEps: c.number('layer_norm_eps', 1e-12),
      scaleEmbedding: false, embeddingNorm: true,
      pooling: 'cls', pooler: hasPooler, typeVocabSize,
      padTokenId: pad,
      labels: labels && hasHead ? namedLabels(labels) : undefined,
      bosTokenId: specialTokenId(model, 'bos_token_id', 'cls_token') ?? pad,
      eosTokenId: specialTokenId(model, 'eos_token_id', 'sep_token') ?? pad,
    });

    const out: Record<string, NamedTensor> = {};
    const { linear, norm, classifier } = tensorCopier(w, out, d, notes);
    const T = BERT_TENSORS;
    out['embed_tokens.weight'] = w.copy(T['embed_tokens.weight'], [vocabSize, d]);
    out['encoder.embed_positions.weight'] = w.copy(T['encoder.embed_positions.weight'], [maxSeqLen, d]);
    if (typeVocabSize > 0) out[TOKEN_TYPES_WEIGHT] = f32Tensor([typeVocab, d], types);
    else notes.push(`token types: the table of ${typeVocab} is all zeros and is left out (it adds nothing)`);
    norm('embeddings.LayerNorm', 'encoder.layernorm_embedding');
    for (let i = 0; i < layers; i++) {
      const h = `${BERT_LINEARS.hfLayers}.${i}`;
      const p = `${BERT_LINEARS.attendLayers}.${i}`;
      for (const [to, { module }] of Object.entries(BERT_LINEARS.modules)) linear(`${h}.${module}`, `${p}.${to}`, ...linearShape(to, d, dFf));
      for (const [to, from] of Object.entries(BERT_LINEARS.norms)) norm(`${h}.${from}`, `${p}.${to}`);
    }
    if (hasPooler) linear('pooler.dense', 'pooler', d, d);
    classifier(numClasses);
    if (labels && hasHead) notes.push(`labels: ${labels.join(', ')} (ids 0..${labels.length - 1})`);
    const dropped = w.skip((n) => n === 'embeddings.position_ids' || n.startsWith('cls.'));
    if (dropped.some((n) => n.startsWith('cls.'))) notes.push('the pre-training heads (cls.*) are left out');
    return { config, weights: out, notes };
  },
};
