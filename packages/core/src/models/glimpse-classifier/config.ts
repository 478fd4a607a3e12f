// The recurrent attention model (Mnih et al., 2014, "Recurrent Models of Visual Attention"):
// hard attention that picks where to look. At each of `numGlimpses` steps a glimpse sensor reads
// `numScales` patches of growing size around a location, a glimpse network combines what it saw
// with where, a recurrent core (the paper's rectifier RNN) updates its state, and a location
// network proposes the next location — the mean of a Gaussian policy with fixed std, trained by
// REINFORCE with a learned baseline. The class is predicted from the state after the last glimpse.

import { ConfigError } from '../../errors.js';
import type { ModelKind } from '../kind.js';
import { glimpseClassifierHfConfig } from './hf.js';
import { logitActivations } from '../stack.js';
import { BASE_FIELDS, baseFields, classes, int, positive, type BaseFields } from '../fields.js';

export interface GlimpseClassifierConfig extends BaseFields {
  preset: 'glimpse-classifier';
  /** dModel is the recurrent core's state size; maxSeqLen bounds numGlimpses; dropout acts on the glimpse features. */
  numClasses: number;
  /** Side of the square input canvas, in pixels. */
  imageSize: number;
  /** Channels per pixel (images are [C, H, W] row-major). */
  numChannels: number;
  /** Factor applied to raw pixel values before the sensor (as the ViT's pixelScale). */
  pixelScale: number;
  /** Glimpses per image (the recurrence length); the class is read after the last. */
  numGlimpses: number;
  /** Side of each glimpse patch after reading, in pixels. */
  glimpsePatch: number;
  /** Patches per glimpse, sides glimpsePatch·2^s pixels (s = 0 … numScales − 1). */
  numScales: number;
  /** Units of the "what" layer h_g = relu(W·ρ(x, l)). */
  glimpseHidden: number;
  /** Units of the "where" layer h_l = relu(W·l). */
  locationHidden: number;
  /** Units of the glimpse feature g = relu(W·h_g + W·h_l). */
  glimpseSize: number;
  /** Fixed std of the Gaussian location policy, in the [−1, 1] canvas coordinates. */
  locationStd: number;
}

export const glimpseClassifier: ModelKind<GlimpseClassifierConfig> = {
  preset: 'glimpse-classifier',
  task: 'image-classification',
  description: 'recurrent attention model: glimpses at locations chosen by a REINFORCE policy (Mnih et al., 2014)',
  fields: ['preset', 'numClasses', ...BASE_FIELDS, 'imageSize', 'numChannels', 'pixelScale', 'numGlimpses', 'glimpsePatch', 'numScales', 'glimpseHidden', 'locationHidden', 'glimpseSize', 'locationStd'],
  laterFields: {},
  // 32 × 32 canvases, 6 glimpses of 8 × 8 at three scales (the coarsest sees the whole canvas).
  defaults: () => ({
    preset: 'glimpse-classifier',
    dModel: 128,
    maxSeqLen: 6,
    dropout: 0,
    imageSize: 32,
    numChannels: 1,
    pixelScale: 1,
    numGlimpses: 6,
    glimpsePatch: 8,
    numScales: 3,
    glimpseHidden: 64,
    locationHidden: 32,
    glimpseSize: 128,
    locationStd: 0.1,
  }),
  hfConfig: glimpseClassifierHfConfig,
  validate(v) {
    const config: GlimpseClassifierConfig = {
      preset: 'glimpse-classifier',
      numClasses: classes(v),
      ...baseFields(v),
      imageSize: int(v, 'imageSize', 1),
      numChannels: int(v, 'numChannels', 1),
      pixelScale: positive(v, 'pixelScale'),
      numGlimpses: int(v, 'numGlimpses', 1),
      glimpsePatch: int(v, 'glimpsePatch', 1),
      numScales: int(v, 'numScales', 1),
      glimpseHidden: int(v, 'glimpseHidden', 1),
      locationHidden: int(v, 'locationHidden', 1),
      glimpseSize: int(v, 'glimpseSize', 1),
      locationStd: positive(v, 'locationStd'),
    };
    if (config.maxSeqLen < config.numGlimpses) throw new ConfigError('maxSeqLen', `${config.maxSeqLen} is below numGlimpses=${config.numGlimpses}; use at least ${config.numGlimpses}`);
    if (config.numScales > 16) throw new ConfigError('numScales', `${config.numScales} is over the limit of 16 (the coarsest patch would be glimpsePatch·2^15 pixels)`);
    if (config.glimpsePatch > config.imageSize) throw new ConfigError('glimpsePatch', `${config.glimpsePatch} is larger than imageSize=${config.imageSize}`);
    return config;
  },
  // Per glimpse (the kind's "token"); the classifier runs once, after the last, so its share of
  // one glimpse is 1/numGlimpses of it. The sensor's bilinear read costs 4 taps (8 FLOPs) a value.
  flops: (config) => [
    { module: 'sensor', flops: 8 * sensorValues(config) },
    { module: 'glimpse.what', flops: 2 * sensorValues(config) * config.glimpseHidden },
    { module: 'glimpse.where', flops: 2 * 2 * config.locationHidden },
    { module: 'glimpse.out', flops: 2 * (config.glimpseHidden + config.locationHidden) * config.glimpseSize },
    { module: 'core', flops: 2 * (config.glimpseSize + config.dModel) * config.dModel },
    { module: 'location', flops: 2 * config.dModel * 2 },
    { module: 'classifier', flops: (2 * config.dModel * config.numClasses) / config.numGlimpses },
  ],
  sizedWeights: (config) => ({
    'glimpse.what.weight': [config.glimpseHidden, sensorValues(config)],
    'glimpse.where.weight': [config.locationHidden, 2],
    'glimpse.out_what.weight': [config.glimpseSize, config.glimpseHidden],
    'glimpse.out_where.weight': [config.glimpseSize, config.locationHidden],
    'core.input.weight': [config.dModel, config.glimpseSize],
    'core.hidden.weight': [config.dModel, config.dModel],
    'classifier.weight': [config.numClasses, config.dModel],
  }),
  // Per glimpse: the sensor's read, the what/where/glimpse layers, the core state, location and baseline.
  activations: (config) =>
    config.numGlimpses * (sensorValues(config) + config.glimpseHidden + config.locationHidden + config.glimpseSize + config.dModel + 3) +
    logitActivations(1, config.numClasses),
};

/** Values one glimpse reads: numScales·numChannels patches of glimpsePatch². */
export function sensorValues(config: Pick<GlimpseClassifierConfig, 'numScales' | 'numChannels' | 'glimpsePatch'>): number {
  return config.numScales * config.numChannels * config.glimpsePatch ** 2;
}

/** A square on the canvas in pixel-edge coordinates (pixel k spans [k, k + 1]). */
export interface GlimpseBox {
  x: number;
  y: number;
  size: number;
}

/**
 * The squares the sensor reads around `location` (x, y in [−1, 1], the sampling grid's
 * convention): one per scale, side glimpsePatch·2^s pixels centred at ((x + 1)/2, (y + 1)/2) of
 * the canvas. What `attend attention` and the playground draw.
 */
export function glimpseBoxes(config: Pick<GlimpseClassifierConfig, 'imageSize' | 'glimpsePatch' | 'numScales'>, location: readonly [number, number]): GlimpseBox[] {
  const S = config.imageSize;
  const [cx, cy] = [((location[0] + 1) / 2) * S, ((location[1] + 1) / 2) * S];
  return Array.from({ length: config.numScales }, (_, s) => {
    const size = config.glimpsePatch * 2 ** s;
    return { x: cx - size / 2, y: cy - size / 2, size };
  });
}
