// LoRA (Hu et al., 2021): a frozen Linear weight W gets a trained low-rank update, so the layer
// computes x·(W + (α/r)·ΔW) with ΔW = B·A, A [r, in] and B [out, r] in PyTorch's [out, in]
// layout. A starts random and B at zero, so training starts from the base model exactly.
// Adapters are stored beside the weight they adapt, as PEFT names them: `<module>.lora_A.weight`
// and `<module>.lora_B.weight` for `<module>.weight`. A config with a `lora` field says that its
// checkpoint holds adapters; `mergeLora` folds them into the weights (for export).

import { ConfigError } from './errors.js';
import { describe, int, positive } from './models/fields.js';
import type { ModelConfig, Preset } from './models/registry.js';
import { f32Tensor, toFloat32, type NamedTensor } from './safetensors.js';

/** The `lora` field of a config.json: the adapters its checkpoint holds. */
export interface LoraConfig {
  /** r: the rank of each update. */
  rank: number;
  /** α: the update is scaled by α/r. */
  alpha: number;
  /** Short target names (see LORA_TARGETS): the Linear layers that carry adapters. */
  targets: string[];
  /**
   * Checkpoint name prefixes of modules that train in full beside the adapters (PEFT's
   * `modules_to_save`), e.g. `classifier` for a fresh classifier head.
   */
  trainable?: string[];
  /** The checkpoint (or Hugging Face model) the adapters were trained on, as given to `--from`. */
  base?: string;
}

/** The Linear modules of a Transformer stack, by their short target name. */
const TRANSFORMER_TARGETS: Readonly<Record<string, string>> = Object.freeze({
  q: 'q_proj',
  k: 'k_proj',
  v: 'v_proj',
  o: 'out_proj',
  fc1: 'fc1',
  fc2: 'fc2',
});

/**
 * Per kind, the LoRA target names and the module (last name part before `.weight`) each one
 * adapts; a target adapts that module in every layer (self- and cross-attention alike).
 */
export const LORA_TARGETS: { readonly [P in Preset]: Readonly<Record<string, string>> } = Object.freeze({
  'encoder-classifier': TRANSFORMER_TARGETS,
  'decoder-lm': TRANSFORMER_TARGETS,
  'encoder-decoder': TRANSFORMER_TARGETS,
  'rnn-seq2seq': {},
  'vit-classifier': TRANSFORMER_TARGETS,
  'canvas-classifier': {},
  'stn-classifier': {},
  'image-captioner': {},
  'glimpse-classifier': {},
  'vision-encoder-decoder': {},
});

/** A checked LoraConfig for a model of `preset`; a ConfigError naming the field (`lora.…`) and what is allowed. */
export function validateLora(value: unknown, preset: Preset): LoraConfig {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError('lora', `expected an object, got ${describe(value)}`);
  const v = value as Record<string, unknown>;
  const known = ['rank', 'alpha', 'targets', 'trainable', 'base'];
  const extra = Object.keys(v).find((k) => !known.includes(k));
  if (extra) throw new ConfigError(`lora.${extra}`, `unknown field (known: ${known.join(', ')})`);
  const valid = Object.keys(LORA_TARGETS[preset]);
  if (valid.length === 0) throw new ConfigError('lora', `preset '${preset}' has no layers LoRA can adapt`);
  const rank = int({ 'lora.rank': v.rank }, 'lora.rank', 1);
  const alpha = positive({ 'lora.alpha': v.alpha }, 'lora.alpha');
  if (!Array.isArray(v.targets) || v.targets.length === 0 || !v.targets.every((t) => typeof t === 'string')) {
    throw new ConfigError('lora.targets', `expected a non-empty list of target names (valid for ${preset}: ${valid.join(', ')}), got ${describe(v.targets)}`);
  }
  const unknown = v.targets.find((t) => !valid.includes(t));
  if (unknown !== undefined) throw new ConfigError('lora.targets', `'${unknown}' is not a LoRA target of ${preset}; valid: ${valid.join(', ')}`);
  const out: LoraConfig = { rank, alpha, targets: [...new Set(v.targets as string[])] };
  if (v.trainable !== undefined) {
    if (!Array.isArray(v.trainable) || !v.trainable.every((t) => typeof t === 'string' && t !== '')) {
      throw new ConfigError('lora.trainable', `expected a list of module names, got ${describe(v.trainable)}`);
    }
    out.trainable = [...v.trainable] as string[];
  }
  if (v.base !== undefined) {
    if (typeof v.base !== 'string') throw new ConfigError('lora.base', `expected the path or name of the base model, got ${describe(v.base)}`);
    out.base = v.base;
  }
  return out;
}

/** The names of the two adapter tensors of the Linear weight `weightName` (`<module>.weight`). */
export function loraNames(weightName: string): { a: string; b: string } {
  const module = weightName.replace(/\.weight$/, '');
  return { a: `${module}.lora_A.weight`, b: `${module}.lora_B.weight` };
}

/** Whether a checkpoint name is a LoRA adapter tensor. */
export function isLoraName(name: string): boolean {
  return /\.lora_[AB]\.weight$/.test(name);
}

/** The weight names (of `names`) that `lora`'s targets adapt in a model of `preset`. */
export function loraTargetWeights(preset: Preset, lora: Pick<LoraConfig, 'targets'>, names: readonly string[]): string[] {
  const modules = lora.targets.map((t) => LORA_TARGETS[preset][t]!);
  return names.filter((name) => !isLoraName(name) && modules.some((m) => name.endsWith(`.${m}.weight`)));
}

/** Whether the checkpoint tensor `name` trains in full beside the adapters (LoraConfig.trainable). */
export function isLoraTrainable(lora: LoraConfig, name: string): boolean {
  return isLoraName(name) || (lora.trainable ?? []).some((m) => name === m || name.startsWith(`${m}.`));
}

/**
 * A checkpoint's config and weights with every adapter folded in, W + (α/r)·B·A (checkpoint
 * layout, [out, in]): the config without `lora`, the weights without adapter tensors. A config
 * without `lora` comes back as it is. `weights` itself is not changed.
 */
export function mergeLora(config: ModelConfig, weights: Readonly<Record<string, NamedTensor>>): { config: ModelConfig; weights: Record<string, NamedTensor> } {
  const { lora } = config;
  if (!lora) return { config, weights: { ...weights } };
  const out: Record<string, NamedTensor> = {};
  for (const [name, tensor] of Object.entries(weights)) if (!isLoraName(name)) out[name] = tensor;
  const scale = lora.alpha / lora.rank;
  for (const name of loraTargetWeights(config.preset, lora, Object.keys(out))) {
    const names = loraNames(name);
    const a = weights[names.a];
    const b = weights[names.b];
    if (!a || !b) throw new ConfigError('lora', `the weights have no ${!a ? names.a : names.b}, which the config's adapters need`);
    const [outDim, inDim] = out[name]!.shape as [number, number];
    const r = lora.rank;
    if (a.shape.join() !== `${r},${inDim}` || b.shape.join() !== `${outDim},${r}`) {
      throw new ConfigError('lora', `${names.a} is [${a.shape}] and ${names.b} [${b.shape}]; expected [${r}, ${inDim}] and [${outDim}, ${r}] for ${name}`);
    }
    const w = Float32Array.from(toFloat32(out[name]!, name));
    const av = toFloat32(a, names.a);
    const bv = toFloat32(b, names.b);
    for (let o = 0; o < outDim; o++) {
      for (let k = 0; k < r; k++) {
        const s = scale * bv[o * r + k]!;
        if (s === 0) continue;
        for (let i = 0; i < inDim; i++) w[o * inDim + i] = w[o * inDim + i]! + s * av[k * inDim + i]!;
      }
    }
    out[name] = f32Tensor([outDim, inDim], w);
  }
  return { config: baseConfig(config), weights: out };
}

/** `config` without `lora`: the config of its base model, and of the model its merged weights make. */
export function baseConfig(config: ModelConfig): ModelConfig {
  const { lora, ...base } = config;
  return lora ? (base as ModelConfig) : config;
}
