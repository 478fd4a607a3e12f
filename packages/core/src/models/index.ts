export * from './kind.js';
export * from './registry.js';
export {
  ACTIVATIONS, MAX_SEQ_LEN, NORM_PLACEMENTS, POOLINGS, POSITIONAL_ENCODINGS, SCORE_FUNCTIONS,
  type Activation, type NormPlacement, type Pooling, type PositionalEncoding, type ScoreFunction, type StackConfig, type StackFields, type TokenFields,
} from './fields.js';
import type { EncoderClassifierConfig } from './encoder-classifier/config.js';
import type { DecoderLmConfig } from './decoder-lm/config.js';
import type { EncoderDecoderConfig } from './encoder-decoder/config.js';
export type { EncoderClassifierConfig, DecoderLmConfig, EncoderDecoderConfig };
export { TOKEN_TYPES_WEIGHT } from './encoder-classifier/config.js';
/** The Transformer text kinds: one tfjs model class and one graph builder serve all three. */
export type TransformerConfig = EncoderClassifierConfig | DecoderLmConfig | EncoderDecoderConfig;
export { RNN_ATTENTIONS, RNN_CELLS, type RnnAttention, type RnnCell, type RnnSeq2SeqConfig } from './rnn-seq2seq/config.js';
export { gridPatches, numPatches, vitPatchGrid, vitStack, type PatchGrid, type VitClassifierConfig } from './vit-classifier/config.js';
export { gpt2Config } from './decoder-lm/hf.js';
export { marianConfig } from './encoder-decoder/hf.js';
export { bertConfig } from './encoder-classifier/hf.js';
export { RNN_SEQ2SEQ_MODEL_TYPE, rnnSeq2SeqConfig } from './rnn-seq2seq/hf.js';
export { vitConfig, vitPreprocessorConfig } from './vit-classifier/hf.js';
export { CONV_KERNEL, CONV_POOL, convBlocks, convLayerName, convOutputValues, imageValues, mlpLayerName, mlpWidths, type CanvasClassifierConfig, type ConvBlock, type ImageFields } from './canvas-classifier/config.js';
export { IDENTITY_THETA, identityParams, locBlocks, locNet, locWidths, samplingQuadrilateral, stnClassifierBlocks, stnClassifierWidths, STN_TRANSFORMS, THETA_SIZE, thetaMatrix, type StnClassifierConfig, type StnTransformKind } from './stn-classifier/config.js';
export { captionerAttentionLayout, featureGrid, featureLocations, HARD_INFERENCES, hardCaptionerConfig, hardReading, VISUAL_ATTENTIONS, type HardInference, type ImageCaptionerConfig, type VisualAttention } from './image-captioner/config.js';
export { IMAGE_CAPTIONER_MODEL_TYPE, captionerConfig } from './image-captioner/hf.js';
export { glimpseBoxes, sensorValues, type GlimpseBox, type GlimpseClassifierConfig } from './glimpse-classifier/config.js';
export { GLIMPSE_CLASSIFIER_MODEL_TYPE, glimpseClassifierHfConfig } from './glimpse-classifier/hf.js';
export { captionDecoderConfig, captionPatchGrid, patchAttentionLayout, patchEncoderStack, type VisionEncoderDecoderConfig } from './vision-encoder-decoder/config.js';
export { VISION_ENCODER_DECODER_MODEL_TYPE, visionEncoderDecoderConfig, visionEncoderDecoderPreprocessorConfig } from './vision-encoder-decoder/hf.js';
