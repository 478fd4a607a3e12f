// The registry of model kinds: one entry per kind, keyed by `preset`. Adding a kind to core
// means writing `models/<kind>/config.ts` and adding it here.

import { ConfigError } from '../errors.js';
import type { ModelKind, ModelTask } from './kind.js';
import type { LoraConfig } from '../lora.js';
import { describe } from './fields.js';
import { encoderClassifier, type EncoderClassifierConfig } from './encoder-classifier/config.js';
import { decoderLm, type DecoderLmConfig } from './decoder-lm/config.js';
import { encoderDecoder, type EncoderDecoderConfig } from './encoder-decoder/config.js';
import { rnnSeq2Seq, type RnnSeq2SeqConfig } from './rnn-seq2seq/config.js';
import { numPatches, vitClassifier, type VitClassifierConfig } from './vit-classifier/config.js';
import { canvasClassifier, type CanvasClassifierConfig } from './canvas-classifier/config.js';
import { stnClassifier, type StnClassifierConfig } from './stn-classifier/config.js';
import { featureLocations, imageCaptioner, type ImageCaptionerConfig } from './image-captioner/config.js';
import { glimpseClassifier, type GlimpseClassifierConfig } from './glimpse-classifier/config.js';
import { patchEncoderStack, visionEncoderDecoder, type VisionEncoderDecoderConfig } from './vision-encoder-decoder/config.js';

/**
 * A model's config: one member per kind, discriminated on `preset`, each with only its own fields,
 * `lora` when its checkpoint holds LoRA adapters (lora.ts), and a classifier's `labels` when its
 * classes have names (hf-labels.ts).
 */
export type ModelConfig = (EncoderClassifierConfig | DecoderLmConfig | EncoderDecoderConfig | RnnSeq2SeqConfig | VitClassifierConfig | CanvasClassifierConfig | StnClassifierConfig | ImageCaptionerConfig | GlimpseClassifierConfig | VisionEncoderDecoderConfig) & { lora?: LoraConfig; labels?: string[] };
export type Preset = ModelConfig['preset'];
/** The configs of the image-classification kinds (pixels in, class scores out). */
export type ImageClassifierConfig = VitClassifierConfig | CanvasClassifierConfig | StnClassifierConfig | GlimpseClassifierConfig;
/** The configs of the image-to-text kinds (pixels in, a caption out). */
export type ImageToTextConfig = ImageCaptionerConfig | VisionEncoderDecoderConfig;
/** The configs of the kinds that read and write tokens (all but the image kinds). */
export type TokenModelConfig = Exclude<ModelConfig, ImageClassifierConfig>;
/** The config of one kind. */
export type ConfigOf<P extends Preset> = Extract<ModelConfig, { preset: P }>;

export const MODEL_KINDS: { readonly [P in Preset]: ModelKind<ConfigOf<P>> } = Object.freeze({
  'encoder-classifier': encoderClassifier,
  'decoder-lm': decoderLm,
  'encoder-decoder': encoderDecoder,
  'rnn-seq2seq': rnnSeq2Seq,
  'vit-classifier': vitClassifier,
  'canvas-classifier': canvasClassifier,
  'stn-classifier': stnClassifier,
  'image-captioner': imageCaptioner,
  'glimpse-classifier': glimpseClassifier,
  'vision-encoder-decoder': visionEncoderDecoder,
});

/** Every preset, in registry order. */
export const PRESETS = Object.keys(MODEL_KINDS) as Preset[];

/** The kind of a preset name; a ConfigError listing the presets when there is none. */
export function modelKind<P extends Preset>(preset: P): ModelKind<ConfigOf<P>>;
export function modelKind(preset: unknown): ModelKind<ModelConfig>;
export function modelKind(preset: unknown): ModelKind<ModelConfig> {
  if (typeof preset !== 'string' || !Object.hasOwn(MODEL_KINDS, preset)) {
    throw new ConfigError('preset', `${describe(preset)} is not a preset; allowed: ${PRESETS.join(', ')}`);
  }
  return MODEL_KINDS[preset as Preset] as ModelKind<ModelConfig>;
}

/** What a config's model does (see ModelTask). */
export function modelTask(config: Pick<ModelConfig, 'preset'>): ModelTask {
  return modelKind(config.preset).task;
}

/** The presets whose models do `task`. */
export function presetsFor(task: ModelTask): Preset[] {
  return PRESETS.filter((p) => MODEL_KINDS[p].task === task);
}

/** Whether `config` reads and writes tokens (has a vocabulary and a tokenizer). */
export function hasTokens(config: ModelConfig): config is TokenModelConfig {
  return 'vocabSize' in config;
}

/** Whether `config` has a Transformer encoder stack (the text encoder kinds and the ViT). */
export function numEncoderLayers(config: ModelConfig): number {
  return 'numEncoderLayers' in config ? config.numEncoderLayers : 0;
}

/** The configs of the kinds that read images. */

/** Decoder layers of `config` (0 for the kinds without a decoder). */
export function numDecoderLayers(config: ModelConfig): number {
  return 'numDecoderLayers' in config ? config.numDecoderLayers : 0;
}

/** `config` as one of `presets`; a ConfigError saying what needed which kinds when it is another. */
export function configAs<P extends Preset>(config: ModelConfig, presets: readonly P[], what: string): ConfigOf<P> {
  if (!(presets as readonly string[]).includes(config.preset)) {
    throw new ConfigError('preset', `${what} needs ${presets.map((p) => `'${p}'`).join(' or ')}, got '${config.preset}'`);
  }
  return config as ConfigOf<P>;
}

/** `config` as a kind that reads and writes tokens; a ConfigError naming `what` for the ViT. */
export function tokenConfig(config: ModelConfig, what: string): TokenModelConfig {
  if (!hasTokens(config)) throw new ConfigError('preset', `${what} needs a model that reads tokens, got '${config.preset}'`);
  return config;
}

/** `config` as a classifier kind; a ConfigError naming `what` for the others. */
export function classifierConfig(config: ModelConfig, what: string): EncoderClassifierConfig | ImageClassifierConfig {
  return configAs(config, presetsFor('text-classification').concat(presetsFor('image-classification')) as (EncoderClassifierConfig | ImageClassifierConfig)['preset'][], what);
}

/** Steps an image classifier runs over one image: the ViT's patches + CLS, the glimpse-classifier's glimpses; 1 for the kinds that read the image whole. */
export function imagePositions(config: ImageClassifierConfig): number {
  return 'patchSize' in config ? numPatches(config) + 1 : 'numGlimpses' in config ? config.numGlimpses : 1;
}

/** `config` as an image-classification kind; a ConfigError naming `what` for the others. */
export function imageConfig(config: ModelConfig, what: string): ImageClassifierConfig {
  return configAs(config, presetsFor('image-classification') as ImageClassifierConfig['preset'][], what);
}

/** `config` as an image-to-text kind (a captioner); a ConfigError naming `what` for the others. */
export function imageToTextConfig(config: ModelConfig, what: string): ImageToTextConfig {
  return configAs(config, presetsFor('image-to-text') as ImageToTextConfig['preset'][], what);
}

/** Positions a captioner's decoder looks at in one image: the LSTM captioner's feature locations, the Transformer captioner's patches + CLS. */
export function captionSourceLength(config: ImageToTextConfig): number {
  return 'patchStride' in config ? featureLocations(config) : patchEncoderStack(config).maxSeqLen;
}

/** `config` as a kind that reads images (an image classifier or captioner); a ConfigError naming `what` for the others. */
export function imageInputConfig(config: ModelConfig, what: string): ImageClassifierConfig | ImageToTextConfig {
  return configAs(config, [...presetsFor('image-classification'), ...presetsFor('image-to-text')] as (ImageClassifierConfig | ImageToTextConfig)['preset'][], what);
}

/** Heads of the model's attention: the Transformer kinds' numHeads; the rnn-seq2seq's one. */
export function numAttentionHeads(config: ModelConfig): number {
  return 'numHeads' in config ? config.numHeads : 1;
}

/** The entries of `fields` that `preset`'s kind has: shared defaults narrowed to one kind. */
export function pickFields(preset: Preset, fields: Readonly<Record<string, unknown>>): Record<string, unknown> {
  const own = MODEL_KINDS[preset].fields;
  return Object.fromEntries(Object.entries(fields).filter(([field]) => own.includes(field)));
}

/** The export folder's config.json of `config` (see ModelKind.hfConfig). */
export function hfConfig(config: ModelConfig): Record<string, unknown> {
  return (modelKind(config.preset) as ModelKind<ModelConfig>).hfConfig(config);
}
