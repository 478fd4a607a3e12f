// A LoRA checkpoint's adapters in PEFT's layout (huggingface/peft, docs "PEFT checkpoint
// format"): adapter_model.safetensors with keys `base_model.model.<module>.lora_A.weight` /
// `.lora_B.weight` (A [r, in], B [out, r]) under the Hugging Face model's module names, and
// adapter_config.json with `peft_type`, `r`, `lora_alpha`, `target_modules`, … Module names come
// from the importers' tables (HfLayerLinears), so the adapters fit the model `attend export
// --format hf` or the original Hugging Face checkpoint has. GPT-2 fuses q, k and v into one
// Conv1D `c_attn`: adapters on several of them become one adapter on c_attn whose A stacks
// theirs and whose B places each in its output slice, with its rank and α multiplied by their
// count (PEFT's `rank_pattern` / `alpha_pattern`), so the update (α/r)·B·A is the same.

import { ConfigError } from '../errors.js';
import { loraNames, loraTargetWeights } from '../lora.js';
import { hfConfig, type ModelConfig } from '../models/registry.js';
import { f32Tensor, serializeSafetensors, toFloat32, type NamedTensor } from '../safetensors.js';
import { HF_IMPORTERS } from './index.js';

/** The files of a PEFT adapter folder. */
export const PEFT_FILES = { config: 'adapter_config.json', weights: 'adapter_model.safetensors' } as const;

/** PEFT's task_type of each Hugging Face model_type attend writes adapters for. */
const PEFT_TASKS: Readonly<Record<string, string>> = { gpt2: 'CAUSAL_LM', bert: 'SEQ_CLS' };

/**
 * The PEFT adapter folder (PEFT_FILES) of a LoRA checkpoint: `config` with `lora`, its weights in
 * checkpoint layout; `base_model_name_or_path` is `lora.base` (the checkpoint they were trained from). A config without adapters
 * or of a kind with no Hugging Face layout attend names adapters in is one ConfigError line.
 */
export function peftAdapterFiles(config: ModelConfig, weights: Readonly<Record<string, NamedTensor>>): Record<string, Uint8Array> {
  const lora = config.lora;
  if (!lora) throw new ConfigError('lora', 'the checkpoint has no LoRA adapters (train it with --lora-rank)');
  if (lora.trainable?.length) throw new ConfigError('lora.trainable', `${lora.trainable.join(', ')} also trained in full, which an adapter folder leaves out; export the merged model instead`);
  const modelType = String(hfConfig(config).model_type);
  const importer = HF_IMPORTERS[modelType];
  const task = PEFT_TASKS[modelType];
  if (!importer || !task) {
    throw new ConfigError('preset', `${config.preset} (Hugging Face ${modelType}) has no PEFT layout in attend; adapters are written for ${Object.keys(PEFT_TASKS).join(', ')} (decoder-lm, encoder-classifier)`);
  }
  const { attendLayers, hfLayers, modules, conv1d } = importer.linears;
  const prefix = importer.basePrefix;
  // Hugging Face module (full name) → its adapted parts: [part or 0, A [r, in], B [out, r]].
  const adapted = new Map<string, { parts: number; slices: { part: number; a: Float32Array; b: Float32Array; out: number; in: number }[] }>();
  for (const name of loraTargetWeights(config.preset, lora, Object.keys(weights))) {
    const match = new RegExp(`^${attendLayers.replace('.', '\\.')}\\.(\\d+)\\.(.+)\\.weight$`).exec(name);
    const target = match ? modules[match[2]!] : undefined;
    if (!match || !target) throw new ConfigError('lora', `${name} has no Hugging Face ${modelType} module`);
    const names = loraNames(name);
    const a = weights[names.a];
    const b = weights[names.b];
    if (!a || !b) throw new ConfigError('lora', `the weights have no ${!a ? names.a : names.b}, which the config's adapters need`);
    const module = `${prefix}${hfLayers}.${match[1]}.${target.module}`;
    const entry = adapted.get(module) ?? { parts: target.parts ?? 1, slices: [] };
    entry.slices.push({ part: target.part ?? 0, a: toFloat32(a, names.a), b: toFloat32(b, names.b), out: b.shape[0]!, in: a.shape[1]! });
    adapted.set(module, entry);
  }
  const tensors: Record<string, NamedTensor> = {};
  const rankPattern: Record<string, number> = {};
  const alphaPattern: Record<string, number> = {};
  const r = lora.rank;
  for (const [module, { parts, slices }] of adapted) {
    slices.sort((x, y) => x.part - y.part);
    const rank = r * slices.length;
    const inDim = slices[0]!.in;
    const sliceOut = slices[0]!.out;
    const outDim = sliceOut * parts;
    const a = new Float32Array(rank * inDim);
    const b = new Float32Array(outDim * rank);
    slices.forEach((s, k) => {
      a.set(s.a, k * r * inDim);
      for (let o = 0; o < sliceOut; o++) for (let j = 0; j < r; j++) b[(s.part * sliceOut + o) * rank + k * r + j] = s.b[o * r + j]!;
    });
    tensors[`base_model.model.${module}.lora_A.weight`] = f32Tensor([rank, inDim], a);
    tensors[`base_model.model.${module}.lora_B.weight`] = f32Tensor([outDim, rank], b);
    if (slices.length > 1) {
      rankPattern[module] = rank;
      alphaPattern[module] = lora.alpha * slices.length;
    }
  }
  const adapterConfig = {
    peft_type: 'LORA',
    task_type: task,
    base_model_name_or_path: lora.base ?? null,
    revision: null,
    r,
    lora_alpha: lora.alpha,
    lora_dropout: 0,
    target_modules: [...adapted.keys()].sort(),
    rank_pattern: rankPattern,
    alpha_pattern: alphaPattern,
    fan_in_fan_out: conv1d,
    bias: 'none',
    modules_to_save: null,
    init_lora_weights: true,
    inference_mode: true,
    use_rslora: false,
    use_dora: false,
  };
  return {
    [PEFT_FILES.config]: new TextEncoder().encode(`${JSON.stringify(adapterConfig, null, 2)}\n`),
    [PEFT_FILES.weights]: serializeSafetensors(tensors, { format: 'pt' }),
  };
}
