// ViT (ViTForImageClassification, ViTModel) → vit-classifier: the convolutional patch
// projection [d, C, p, p] read as one linear map [d, C·p·p] of each flattened patch (attend
// flattens a patch channel by channel, row by row — the order of the kernel's entries), the CLS token,
// learned positions, pre-norm layers (layernorm_before / layernorm_after), the final LayerNorm
// and the classifier on the CLS state. ViTModel's pooler is not part of the classifier and is
// left out; without a classifier a fresh head is drawn. An image processor that only rescales
// (preprocessor_config.json, as `attend export --format hf` writes it) becomes pixelScale.

import { ConfigError } from '../errors.js';
import { createModelConfig } from '../config.js';
import { f32Tensor, type NamedTensor } from '../safetensors.js';
import { namedLabels } from '../models/hf-labels.js';
import { HF_ACTIVATIONS } from './gpt2.js';
import { linearShape, tensorCopier, type HfConfig, type HfImporter, type HfLayerLinears, type HfModel, type HfWeights, type ImportedModel } from './model.js';

/** Labels of a config that names none (transformers' default num_labels). */
const DEFAULT_LABELS = 2;

const VIT_LINEARS: HfLayerLinears = {
  attendLayers: 'encoder.layers',
  hfLayers: 'encoder.layer',
  modules: {
    'self_attn.q_proj': { module: 'attention.attention.query' },
    'self_attn.k_proj': { module: 'attention.attention.key' },
    'self_attn.v_proj': { module: 'attention.attention.value' },
    'self_attn.out_proj': { module: 'attention.output.dense' },
    fc1: { module: 'intermediate.dense' },
    fc2: { module: 'output.dense' },
  },
  conv1d: false,
  norms: { self_attn_layer_norm: 'layernorm_before', final_layer_norm: 'layernorm_after' },
};

/** ViT's tensors outside the layers, by attend's names: the kernel, CLS token and positions keep their values in other shapes. */
const VIT_TENSORS = {
  'embeddings.patch_embeddings.weight': 'embeddings.patch_embeddings.projection.weight',
  'embeddings.patch_embeddings.bias': 'embeddings.patch_embeddings.projection.bias',
  'embeddings.cls_token': 'embeddings.cls_token',
  'encoder.embed_positions.weight': 'embeddings.position_embeddings',
  'encoder.layer_norm.weight': 'layernorm.weight',
  'encoder.layer_norm.bias': 'layernorm.bias',
  'classifier.weight': 'classifier.weight',
  'classifier.bias': 'classifier.bias',
} as const;

export const vitImporter: HfImporter = {
  architectures: ['ViTForImageClassification', 'ViTModel'],
  basePrefix: 'vit.',
  linears: VIT_LINEARS,
  tensors: VIT_TENSORS,
  heads: [VIT_TENSORS['classifier.weight'], VIT_TENSORS['classifier.bias']],
  import(model: HfModel, c: HfConfig, w: HfWeights): ImportedModel {
    const notes: string[] = [];
    const d = c.int('hidden_size');
    const layers = c.int('num_hidden_layers');
    const dFf = c.int('intermediate_size');
    const imageSize = c.int('image_size');
    const patchSize = c.int('patch_size');
    const channels = c.optionalInt('num_channels', 3);
    const activation = c.oneOf('hidden_act', 'gelu', HF_ACTIVATIONS);
    c.only('qkv_bias', true, 'query, key and value with biases (qkv_bias true)');
    const labels = c.labels();
    if (labels && labels.length < 2) throw new ConfigError(`${model.source}/config.json: num_labels`, `${labels.length} (regression) is not supported; attend imports classifiers with at least 2 labels`);
    if (imageSize % patchSize !== 0) throw new ConfigError(`${model.source}/config.json: patch_size`, `${patchSize} does not divide image_size ${imageSize}`);
    const numClasses = labels?.length ?? DEFAULT_LABELS;
    const rescale = rescaleOnly(model.preprocessorConfig);
    const patches = (imageSize / patchSize) ** 2;
    const P = channels * patchSize * patchSize;
    const config = createModelConfig({
      preset: 'vit-classifier',
      numClasses, dModel: d, numHeads: c.int('num_attention_heads'), dFf, numEncoderLayers: layers,
      maxSeqLen: patches + 1,
      dropout: c.number('hidden_dropout_prob', 0),
      norm: 'pre', activation, attention: 'scaled_dot',
      layerNormEps: c.number('layer_norm_eps', 1e-12),
      imageSize, patchSize, numChannels: channels,
      pixelScale: rescale ?? 1,
      labels: labels && w.has(VIT_TENSORS['classifier.weight']) ? namedLabels(labels) : undefined,
    });

    const out: Record<string, NamedTensor> = {};
    const { linear, norm, classifier } = tensorCopier(w, out, d, notes);
    // The kernel [d, C, p, p] is the linear map [d, C·p·p] (checkpoints store [out, in]) row by row.
    const T = VIT_TENSORS;
    out['embeddings.patch_embeddings.weight'] = f32Tensor([d, P], w.take(T['embeddings.patch_embeddings.weight'], [d, channels, patchSize, patchSize]));
    out['embeddings.patch_embeddings.bias'] = w.copy(T['embeddings.patch_embeddings.bias'], [d]);
    out['embeddings.cls_token'] = f32Tensor([1, d], w.take(T['embeddings.cls_token'], [1, 1, d]));
    out['encoder.embed_positions.weight'] = f32Tensor([patches + 1, d], w.take(T['encoder.embed_positions.weight'], [1, patches + 1, d]));
    for (let i = 0; i < layers; i++) {
      const h = `${VIT_LINEARS.hfLayers}.${i}`;
      const p = `${VIT_LINEARS.attendLayers}.${i}`;
      for (const [to, { module }] of Object.entries(VIT_LINEARS.modules)) linear(`${h}.${module}`, `${p}.${to}`, ...linearShape(to, d, dFf));
      for (const [to, from] of Object.entries(VIT_LINEARS.norms)) norm(`${h}.${from}`, `${p}.${to}`);
    }
    norm('layernorm', 'encoder.layer_norm');
    if (classifier(numClasses) && labels) notes.push(`labels: ${labels.join(', ')} (ids 0..${labels.length - 1})`);
    const dropped = w.skip((n) => n.startsWith('pooler.') || n === 'embeddings.mask_token');
    if (dropped.some((n) => n.startsWith('pooler.'))) notes.push("ViTModel's pooler is left out (the classifier reads the CLS state)");
    if (rescale === undefined) notes.push('inputs are pixel_values as the Hugging Face model takes them: apply its image processor (rescale, normalise to its image_mean/image_std) first');
    else notes.push(`inputs are pixel values as stored: the model applies the image processor's rescale_factor ${rescale} (pixelScale)`);
    return { config, weights: out, notes };
  },
};

/**
 * The rescale_factor of an image processor that only rescales (do_rescale true, no normalising,
 * no resizing), which attend applies inside the model as pixelScale; undefined for any other.
 */
function rescaleOnly(processor: Record<string, unknown> | undefined): number | undefined {
  const factor = processor?.rescale_factor;
  if (processor?.do_rescale !== true || processor.do_normalize !== false || processor.do_resize === true) return undefined;
  return typeof factor === 'number' && Number.isFinite(factor) && factor > 0 ? factor : undefined;
}
