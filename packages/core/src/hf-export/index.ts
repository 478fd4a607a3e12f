// attend checkpoints → Hugging Face model folders, the importers (hf-import/) run backwards: one
// exporter per Hugging Face model_type, writing tensors through the importer's name tables
// (HfLayerLinears, HfImporter.tensors), so each mapping is written once for both directions.
// A checkpoint is exported when its kind's architecture has a Hugging Face class (decoder-lm →
// GPT2LMHeadModel, encoder-classifier → BertForSequenceClassification, encoder-decoder →
// MarianMTModel, vit-classifier → ViTForImageClassification) and its config uses only what that class computes; anything else is
// one ConfigError line naming the field and its value. LoRA adapters are merged first. Importing
// the result gives back the same config and the same weights, bit for bit.

import { ConfigError } from '../errors.js';
import type { CheckpointData } from '../checkpoint-format.js';
import { HF_IMPORTERS } from '../hf-import/index.js';
import { HF_FILES, transpose, type HfImporter, type HfModel } from '../hf-import/model.js';
import { mergeLora } from '../lora.js';
import { describe } from '../models/fields.js';
import { hfConfig, numDecoderLayers, numEncoderLayers, type ModelConfig } from '../models/registry.js';
import { f32Tensor, toFloat32, type NamedTensor } from '../safetensors.js';
import { safetensorsFiles } from './shards.js';
import { bertExporter } from './bert.js';
import { gpt2Exporter } from './gpt2.js';
import { marianExporter } from './marian.js';
import { vitExporter } from './vit.js';
import type { HfExporter } from './exporter.js';

export type { HfExporter } from './exporter.js';
export { isShardFileName, parseShardSize, safetensorsFiles, shardFileName } from './shards.js';

/** The exporters by the Hugging Face model_type a kind's config.json names (ModelKind.hfConfig). */
export const HF_EXPORTERS: Readonly<Record<string, HfExporter>> = {
  gpt2: gpt2Exporter,
  bert: bertExporter,
  vit: vitExporter,
  marian: marianExporter,
};

/**
 * The Hugging Face model (config.json, tensors by Hugging Face name, tokenizer.json and
 * preprocessor_config.json where they apply) of an attend checkpoint; `source` names it in
 * messages. tokenizer_config.json and generation_config.json are the caller's (they come from
 * the runtime's export-folder files). Refuses, in one ConfigError line, a kind with no Hugging
 * Face class or a config value the class cannot compute.
 */
export function exportHfModel(data: Pick<CheckpointData<NamedTensor>, 'config' | 'weights' | 'tokenizer'>, source = 'checkpoint'): HfModel {
  const { config, weights } = mergeLora(data.config, data.weights);
  const base = hfConfig(config);
  const type = String(base.model_type);
  const exporter = Object.hasOwn(HF_EXPORTERS, type) ? HF_EXPORTERS[type]! : undefined;
  if (!exporter || !Object.hasOwn(HF_IMPORTERS, type)) {
    const kinds = Object.values(HF_EXPORTERS).map((e) => `${e.kind} (${e.className})`);
    throw new ConfigError('preset', `${config.preset} has no Hugging Face class attend exports to; the Hugging Face layout is written for ${kinds.join(', ')}`);
  }
  const fields = config as unknown as Record<string, unknown>;
  for (const [field, value] of Object.entries(exporter.fixed)) {
    if (fields[field] !== value) throw new ConfigError(field, `${describe(fields[field])} has no equivalent in Hugging Face ${exporter.className} (it has ${describe(value)})`);
  }
  exporter.check?.(config);
  // config.json without the export folder's `attend` copy: the Hugging Face fields are the config.
  const { attend: _attend, ...hfFields } = base;
  const model: HfModel = { config: { ...hfFields, ...exporter.config(config) }, weights: hfTensors(HF_IMPORTERS[type]!, config, weights, exporter), source };
  if (data.tokenizer !== undefined) model.tokenizer = data.tokenizer;
  const processor = exporter.preprocessorConfig?.(config);
  if (processor) model.preprocessorConfig = processor;
  return model;
}

/**
 * The folder files of a Hugging Face model (see HF_FILES), the weights as parts that view the
 * tensors: model.safetensors, or shards of at most `maxShardSize` bytes with their index.
 */
export function hfModelFiles(model: HfModel, options: { maxShardSize?: number } = {}): Record<string, Uint8Array[]> {
  const json = (x: unknown): Uint8Array[] => [new TextEncoder().encode(`${JSON.stringify(x, null, 2)}\n`)];
  const files: Record<string, Uint8Array[]> = {
    [HF_FILES.config]: json(model.config),
    ...safetensorsFiles(model.weights, options.maxShardSize),
  };
  if (model.tokenizer !== undefined) files[HF_FILES.tokenizer] = json(model.tokenizer);
  if (model.tokenizerConfig) files[HF_FILES.tokenizerConfig] = json(model.tokenizerConfig);
  if (model.generationConfig) files[HF_FILES.generationConfig] = json(model.generationConfig);
  if (model.preprocessorConfig) files[HF_FILES.preprocessorConfig] = json(model.preprocessorConfig);
  return files;
}

/**
 * The tensors of `weights` (attend names, checkpoint layout) under Hugging Face names: the
 * layers' Linear modules and LayerNorms through `importer.linears` (Conv1D weights [in, out],
 * fused modules' parts side by side in their output columns), the rest through
 * `importer.tensors` (reshaped by `exporter.shapes`), the base model's under its prefix.
 */
function hfTensors(importer: HfImporter, config: ModelConfig, weights: Readonly<Record<string, NamedTensor>>, exporter: HfExporter): Record<string, NamedTensor> {
  const out: Record<string, NamedTensor> = {};
  const name = (hf: string): string => (importer.heads.includes(hf) ? hf : `${importer.basePrefix}${hf}`);
  if (exporter.tensors) return exporter.tensors(config, weights, name);
  const take = (attend: string): NamedTensor => {
    const t = weights[attend];
    if (!t) throw new ConfigError('weights', `the checkpoint has no tensor '${attend}'`);
    return t;
  };
  const shapes = exporter.shapes?.(config) ?? {};
  for (const [attend, hf] of Object.entries(importer.tensors)) {
    if (!weights[attend] && exporter.optional?.includes(attend)) continue;
    const t = take(attend);
    out[name(hf)] = shapes[attend] ? { ...t, shape: shapes[attend]! } : t;
  }
  const { attendLayers, hfLayers, modules, conv1d, norms } = importer.linears;
  const layers = numEncoderLayers(config) + numDecoderLayers(config);
  for (let i = 0; i < layers; i++) {
    const a = `${attendLayers}.${i}`;
    const h = name(`${hfLayers}.${i}`);
    for (const [to, from] of Object.entries(norms)) {
      for (const p of ['weight', 'bias']) out[`${h}.${from}.${p}`] = take(`${a}.${to}.${p}`);
    }
    // Hugging Face module → its attend parts, in part order.
    const fused = new Map<string, string[]>();
    for (const [to, { module, part = 0 }] of Object.entries(modules)) {
      const parts = fused.get(module) ?? [];
      parts[part] = to;
      fused.set(module, parts);
    }
    for (const [module, parts] of fused) {
      if (!conv1d) {
        out[`${h}.${module}.weight`] = take(`${a}.${parts[0]}.weight`);
        out[`${h}.${module}.bias`] = take(`${a}.${parts[0]}.bias`);
        continue;
      }
      // Conv1D [in, out·parts]: each part's [out, in] transposed into its block of columns.
      const ws = parts.map((p) => toFloat32(take(`${a}.${p}.weight`), `${a}.${p}.weight`));
      const [outDim, inDim] = take(`${a}.${parts[0]}.weight`).shape as [number, number];
      const total = outDim * parts.length;
      const values = new Float32Array(inDim * total);
      const bias = new Float32Array(total);
      parts.forEach((p, k) => {
        const t = transpose(ws[k]!, outDim, inDim);
        for (let r = 0; r < inDim; r++) values.set(t.subarray(r * outDim, (r + 1) * outDim), r * total + k * outDim);
        bias.set(toFloat32(take(`${a}.${p}.bias`), `${a}.${p}.bias`), k * outDim);
      });
      out[`${h}.${module}.weight`] = f32Tensor([inDim, total], values);
      out[`${h}.${module}.bias`] = f32Tensor([total], bias);
    }
  }
  Object.assign(out, exporter.extraTensors?.(config, (hf) => name(hf)) ?? {});
  return out;
}
