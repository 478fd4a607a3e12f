// Small Hugging Face models in memory (config.json fields and tensors as transformers writes
// them) for the importer and exporter tests.

import { createRng } from '../random.js';
import { f32Tensor, type NamedTensor } from '../safetensors.js';
import type { HfModel } from '../hf-import/model.js';

/** Width, feed-forward width, positions and vocabulary of the models below. */
export const d = 8;
export const ff = 12;
export const P = 6;
export const V = 14;

/** Seeded normal tensors of these shapes. */
export function tensors(shapes: Record<string, number[]>, seed: number): Record<string, NamedTensor> {
  const rng = createRng(seed);
  return Object.fromEntries(
    Object.entries(shapes).map(([name, shape]) => [name, f32Tensor(shape, Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rng.normal()))]),
  );
}

/** A GPT2LMHeadModel (2 blocks); `prefix` before the base model's tensors. */
export function gpt2(prefix = '', config: Record<string, unknown> = {}): HfModel {
  const shapes: Record<string, number[]> = { [`${prefix}wte.weight`]: [V, d], [`${prefix}wpe.weight`]: [P, d], [`${prefix}ln_f.weight`]: [d], [`${prefix}ln_f.bias`]: [d] };
  for (let i = 0; i < 2; i++) {
    const h = `${prefix}h.${i}.`;
    Object.assign(shapes, {
      [`${h}ln_1.weight`]: [d], [`${h}ln_1.bias`]: [d], [`${h}ln_2.weight`]: [d], [`${h}ln_2.bias`]: [d],
      [`${h}attn.c_attn.weight`]: [d, 3 * d], [`${h}attn.c_attn.bias`]: [3 * d], [`${h}attn.c_proj.weight`]: [d, d], [`${h}attn.c_proj.bias`]: [d],
      [`${h}mlp.c_fc.weight`]: [d, ff], [`${h}mlp.c_fc.bias`]: [ff], [`${h}mlp.c_proj.weight`]: [ff, d], [`${h}mlp.c_proj.bias`]: [d],
    });
  }
  return {
    config: { model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], n_embd: d, n_head: 2, n_layer: 2, n_positions: P, n_inner: ff, vocab_size: V, activation_function: 'gelu_new', layer_norm_epsilon: 1e-5, bos_token_id: V - 1, eos_token_id: V - 1, ...config },
    weights: tensors(shapes, 1),
    source: 'hf/gpt2',
  };
}

/** A BertForSequenceClassification (3 labels), or a BertModel with `head: false`. */
export function bert(prefix = 'bert.', options: { oldNames?: boolean; head?: boolean; config?: Record<string, unknown> } = {}): HfModel {
  const [w, b] = options.oldNames ? ['gamma', 'beta'] : ['weight', 'bias'];
  const norm = (name: string): Record<string, number[]> => ({ [`${name}.${w}`]: [d], [`${name}.${b}`]: [d] });
  const shapes: Record<string, number[]> = {
    [`${prefix}embeddings.word_embeddings.weight`]: [V, d], [`${prefix}embeddings.position_embeddings.weight`]: [P, d], [`${prefix}embeddings.token_type_embeddings.weight`]: [2, d],
    ...norm(`${prefix}embeddings.LayerNorm`), [`${prefix}pooler.dense.weight`]: [d, d], [`${prefix}pooler.dense.bias`]: [d],
  };
  for (let i = 0; i < 2; i++) {
    const h = `${prefix}encoder.layer.${i}.`;
    for (const m of ['attention.self.query', 'attention.self.key', 'attention.self.value', 'attention.output.dense']) Object.assign(shapes, { [`${h}${m}.weight`]: [d, d], [`${h}${m}.bias`]: [d] });
    Object.assign(shapes, norm(`${h}attention.output.LayerNorm`), norm(`${h}output.LayerNorm`), { [`${h}intermediate.dense.weight`]: [ff, d], [`${h}intermediate.dense.bias`]: [ff], [`${h}output.dense.weight`]: [d, ff], [`${h}output.dense.bias`]: [d] });
  }
  if (options.head !== false) Object.assign(shapes, { 'classifier.weight': [3, d], 'classifier.bias': [3] });
  return {
    config: {
      model_type: 'bert', architectures: [options.head === false ? 'BertModel' : 'BertForSequenceClassification'], hidden_size: d, num_attention_heads: 2, num_hidden_layers: 2,
      intermediate_size: ff, max_position_embeddings: P, vocab_size: V, type_vocab_size: 2, hidden_act: 'gelu', layer_norm_eps: 1e-12, pad_token_id: 0,
      position_embedding_type: 'absolute', ...(options.head === false ? {} : { id2label: { 0: 'neg', 1: 'neu', 2: 'pos' } }), ...options.config,
    },
    weights: tensors(shapes, 2),
    tokenizerConfig: { cls_token: '[CLS]', sep_token: '[SEP]' },
    tokenizer: { model: { vocab: { '[PAD]': 0, '[CLS]': 2, '[SEP]': 3 } } },
    source: 'hf/bert',
  };
}

/** A ViTForImageClassification (8×8 images of 2 channels in 4×4 patches, 3 labels). */
export function vit(config: Record<string, unknown> = {}): HfModel {
  const [size, patch, channels] = [8, 4, 2];
  const n = (size / patch) ** 2;
  const shapes: Record<string, number[]> = {
    'vit.embeddings.cls_token': [1, 1, d], 'vit.embeddings.position_embeddings': [1, n + 1, d],
    'vit.embeddings.patch_embeddings.projection.weight': [d, channels, patch, patch], 'vit.embeddings.patch_embeddings.projection.bias': [d],
    'vit.layernorm.weight': [d], 'vit.layernorm.bias': [d], 'classifier.weight': [3, d], 'classifier.bias': [3],
  };
  for (let i = 0; i < 2; i++) {
    const h = `vit.encoder.layer.${i}.`;
    for (const m of ['attention.attention.query', 'attention.attention.key', 'attention.attention.value', 'attention.output.dense']) Object.assign(shapes, { [`${h}${m}.weight`]: [d, d], [`${h}${m}.bias`]: [d] });
    for (const m of ['layernorm_before', 'layernorm_after']) Object.assign(shapes, { [`${h}${m}.weight`]: [d], [`${h}${m}.bias`]: [d] });
    Object.assign(shapes, { [`${h}intermediate.dense.weight`]: [ff, d], [`${h}intermediate.dense.bias`]: [ff], [`${h}output.dense.weight`]: [d, ff], [`${h}output.dense.bias`]: [d] });
  }
  return {
    config: {
      model_type: 'vit', architectures: ['ViTForImageClassification'], hidden_size: d, num_attention_heads: 2, num_hidden_layers: 2, intermediate_size: ff,
      image_size: size, patch_size: patch, num_channels: channels, hidden_act: 'gelu', layer_norm_eps: 1e-12, qkv_bias: true, id2label: { 0: 'cat', 1: 'dog', 2: 'bird' }, ...config,
    },
    weights: tensors(shapes, 3),
    source: 'hf/vit',
  };
}
