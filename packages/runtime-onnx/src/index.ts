// The public API: export, sessions, generation, folders, devices. The protobuf writer, the graph
// builder, the weight reader and the cache input/output names are internal.
export { METADATA_KEYS, type GraphKind } from './graph-io.js';
export * from './export.js';
export * from './models/encoder-decoder/export.js';
export * from './devices.js';
export * from './session.js';
export * from './models/encoder-classifier/session.js';
export * from './models/decoder-lm/session.js';
export * from './models/vit-classifier/session.js';
export * from './generate.js';
export { openDecodeCache, type CacheFeeds, type DecodeCache } from './kv-cache.js';
export type { GpuBuffer, GpuCacheRuntime, GpuDevice } from './gpu-cache.js';
export * from './folder.js';
export * from './export-folder.js';
export * from './quantize.js';
export * from './quantize-matmul.js';
export * from './models/encoder-decoder/session.js';
export { DECODER_LM_FILES } from './models/decoder-lm/export.js';
export { CAPTIONER_FILES, exportCaptioner } from './models/image-captioner/export.js';
export { CAPTION_ATTENTION, captionerLogits, captionerStepFunction, captionerTranslator, captionImages, USE_EXPECTATION, type Caption, type CaptionerSessions, type CaptionRunOptions, type ImageSource } from './models/image-captioner/session.js';
export { exportVisionEncoderDecoder } from './models/vision-encoder-decoder/export.js';
export { captionVisionImages, visionCaptionerTranslator, visionCaptionLogits, visionCaptionStepFunction, type VisionEncoderDecoderSessions } from './models/vision-encoder-decoder/session.js';
export * from './classify.js';
export * from './triton.js';
export { GLIMPSE_LOCATIONS } from './models/glimpse-classifier/export.js';
export * from './models/rnn-seq2seq/export.js';
export * from './models/rnn-seq2seq/session.js';
export * from './translate.js';
