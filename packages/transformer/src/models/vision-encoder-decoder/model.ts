// The Transformer captioner (vision-encoder-decoder): the vit-classifier's patch encoder
// (PatchEncoder: patch embedding, CLS, learned positions, encoder stack) over a rectangular
// image, and the encoder-decoder's decoder (TransformerModel without its text encoder: token
// table, causal self-attention, cross-attention over the CLS + patch states, LM head). Neither
// half is a copy; this class only joins them. The decoder's source is the image batch
// (`TokenBatch.pixels`, seqLen N + 1, no padding: every patch is seen).

import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { captionDecoderConfig, captionPatchGrid, createRng, patchEncoderStack, ShapeError, type VisionEncoderDecoderConfig } from '@attend/core';
import { TransformerModel, type AttentionMaps, type ForwardOptions, type ForwardResult, type TokenBatch } from '../../model.js';
import { ParamStore, type NamedParam } from '../../params.js';
import { PatchEncoder } from '../vit-classifier/model.js';

/** Holds the patch embedding and CLS token. */
class VedParams extends tfl.layers.Layer {
  static className = 'AttendVisionEncoderDecoderParams';
}

/** The vision-encoder-decoder preset: images in (`TokenBatch.pixels`, [B, H, W]), caption logits out. */
export class VisionEncoderDecoderModel {
  readonly config: VisionEncoderDecoderConfig;
  readonly patches: PatchEncoder;
  /** The decoder half: the encoder-decoder's TransformerModel without a text encoder. */
  readonly text: TransformerModel;
  private readonly params = new ParamStore();
  private readonly holder = new VedParams({});

  constructor(config: VisionEncoderDecoderConfig, options: { seed?: number } = {}) {
    this.config = config;
    const seed = options.seed ?? 0;
    this.text = new TransformerModel(captionDecoderConfig(config), { seed, externalEncoder: true });
    this.patches = new PatchEncoder(patchEncoderStack(config), captionPatchGrid(config), config.numEncoderLayers, seed * 7919 + 2, this.params, this.holder, createRng(seed * 7919 + 5));
  }

  /** Every parameter with its checkpoint name: the patch encoder's (`embeddings.*`, `encoder.*`), then the decoder's (`embed_tokens`, `decoder.*`, `lm_head`). */
  namedParams(): NamedParam[] {
    return [...this.patches.namedParams(), ...this.text.namedParams()];
  }

  trainableVariables(): tf.Variable[] {
    return this.namedParams().map((p) => p.variable);
  }

  parameterCount(): number {
    return this.namedParams().reduce((n, p) => n + p.variable.size, 0);
  }

  /** Encoder states [B, N + 1, d] of the images in `source.pixels` (CLS first). */
  encode(source: TokenBatch, options: ForwardOptions = {}, maps?: AttentionMaps): tf.Tensor3D {
    if (!source.pixels) throw new ShapeError("vision-encoder-decoder input needs 'pixels' (images [B, H, W])");
    return this.patches.encode(source.pixels, source.batchSize, options.training ?? false, maps);
  }

  /** Decoder states [B, T, d] (causal), attending to the encoded image. */
  decode(target: TokenBatch, memory: { states: tf.Tensor3D; source: TokenBatch } | undefined, options: ForwardOptions = {}, maps?: AttentionMaps): tf.Tensor3D {
    if (!memory) throw new ShapeError('vision-encoder-decoder decode needs the encoded image');
    // Every patch state is seen: the source as an unpadded batch of the states' length, whatever the caller's seqLen.
    const [B, S] = memory.states.shape;
    return this.text.decode(target, { states: memory.states, source: { ids: new Int32Array(0), batchSize: B, seqLen: S } }, options, maps);
  }

  lmLogits(states: tf.Tensor3D): tf.Tensor3D {
    return this.text.lmLogits(states);
  }

  /** Caption logits [B, T, V] of the decoder input `target` (bos + words) over the images of `input`. */
  forward(input: TokenBatch, target?: TokenBatch, options: ForwardOptions = {}): ForwardResult {
    if (!target) throw new ShapeError('vision-encoder-decoder forward needs a target (decoder input) batch');
    const maps: AttentionMaps = { encoder: [], decoderSelf: [], cross: [] };
    const kept = options.returnAttention ? maps : undefined;
    // tidy keeps only what it returns, so the attention maps travel out with the logits.
    const { logits, ...attention } = tf.tidy(() => {
      const states = this.encode(input, options, kept);
      return { logits: this.lmLogits(this.decode(target, { states, source: input }, options, kept)), ...maps };
    });
    return options.returnAttention ? { logits, attention } : { logits };
  }

  dispose(): void {
    this.text.dispose();
    for (const p of this.patches.namedParams()) p.variable.dispose();
  }
}

tf.serialization.registerClass(VedParams);
