// Running the two graphs of an image-captioner export (`exportCaptioner`) on ONNX Runtime
// sessions of either backend: the encoder over images, then the decoder step word by word.

import type { InferenceSession, Tensor } from 'onnxruntime-common';
import { ShapeError, type ImageCaptionerConfig } from '@attend/core';
import type { OrtRuntime } from '../../session.js';

/** The encoder and decoder-step sessions of one image-captioner export. */
export interface CaptionerSessions {
  encoder: InferenceSession;
  decoder: InferenceSession;
}

/**
 * Teacher-forced logits of the captions `target` ([B, T] ids, each row starting with bos) for the
 * images `pixels` ([B, H, W] raw values): logits [B, T, V] and, with attention, α [B, T, L].
 */
export async function captionerLogits(ort: OrtRuntime, sessions: CaptionerSessions, config: ImageCaptionerConfig, pixels: Float32Array, target: { ids: Int32Array; batchSize: number; seqLen: number }): Promise<{ logits: Float32Array; attention?: Float32Array }> {
  const { batchSize: B, seqLen: T } = target;
  const [H, W, V] = [config.imageHeight, config.imageWidth, config.vocabSize];
  if (pixels.length !== B * H * W) throw new ShapeError(`images: ${pixels.length} values for ${B} × ${H} × ${W}`);
  if (target.ids.length !== B * T) throw new ShapeError(`captions: ${target.ids.length} ids for ${B} × ${T}`);
  const encoded = await sessions.encoder.run({ pixel_values: new ort.Tensor('float32', pixels, [B, 1, H, W]) });
  const features = encoded.last_hidden_state!;
  let hidden = encoded.decoder_initial_state!;
  let cell = encoded.decoder_initial_cell_state!;
  const logits = new Float32Array(B * T * V);
  let attention: Float32Array | undefined;
  for (let t = 0; t < T; t++) {
    const ids = BigInt64Array.from({ length: B }, (_, b) => BigInt(target.ids[b * T + t]!));
    const out = await sessions.decoder.run({ input_ids: new ort.Tensor('int64', ids, [B, 1]), encoder_hidden_states: features, hidden_state: hidden, cell_state: cell });
    const step = out.logits!.data as Float32Array;
    for (let b = 0; b < B; b++) logits.set(step.subarray(b * V, (b + 1) * V), (b * T + t) * V);
    const alpha = out.attention_weights as Tensor | undefined;
    if (alpha) {
      const L = alpha.dims[2]!;
      attention ??= new Float32Array(B * T * L);
      for (let b = 0; b < B; b++) attention.set((alpha.data as Float32Array).subarray(b * L, (b + 1) * L), (b * T + t) * L);
    }
    hidden = out.present_hidden_state!;
    cell = out.present_cell_state!;
  }
  return attention ? { logits, attention } : { logits };
}
