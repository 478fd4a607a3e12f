// The vision Transformer classifier (Dosovitskiy et al., 2021): the image (raw values times
// config.pixelScale) is cut into square patches, each flattened patch is mapped to dModel by
// one linear layer, a learned CLS token is put in front, learned positions are added, and the
// Transformer encoder stack (the same layers as the text presets) runs over the patch tokens; the classifier reads the CLS state. Its
// attention maps over the image (CLS attention, rollout) are computed by @attend/core's
// attention-rollout.ts.

import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { createRng, gridPatches, ShapeError, vitPatchGrid, vitStack, type PatchGrid, type Rng, type StackConfig, type VitClassifierConfig } from '@attend/core';
import { Stack, type AttentionMaps, type ForwardOptions, type ForwardResult, type TokenBatch } from '../../model.js';
import { dropout, linear } from '../../ops.js';
import { glorot, ParamStore, type NamedParam } from '../../params.js';

/** Holds the patch embedding, CLS token and classifier weights. */
class VitParams extends tfl.layers.Layer {
  static className = 'AttendVitParams';
}

/**
 * Patches of images [B, C, H, W] (row-major): [B, N, C·p·p], patches in row-major order over the
 * grid, each patch flattened channel, row, column.
 */
export function imagePatches(pixels: Float32Array, batchSize: number, grid: PatchGrid): Float32Array {
  const { imageHeight: H, imageWidth: W, patchSize: p, numChannels: C } = grid;
  if (pixels.length !== batchSize * C * H * W) throw new ShapeError(`images: ${pixels.length} values for ${batchSize} × ${C} × ${H} × ${W}`);
  const GH = H / p;
  const GW = W / p;
  const P = C * p * p;
  const out = new Float32Array(batchSize * GH * GW * P);
  let k = 0;
  for (let b = 0; b < batchSize; b++) {
    for (let gy = 0; gy < GH; gy++) {
      for (let gx = 0; gx < GW; gx++) {
        for (let c = 0; c < C; c++) {
          for (let dy = 0; dy < p; dy++) {
            for (let dx = 0; dx < p; dx++) out[k++] = pixels[((b * C + c) * H + gy * p + dy) * W + gx * p + dx]!;
          }
        }
      }
    }
  }
  return out;
}

/**
 * The ViT encoder over a patch grid: each flattened patch (raw values × pixelScale) mapped to
 * dModel by one linear layer, a learned CLS token first, learned positions, the Transformer
 * encoder stack. The vit-classifier reads its CLS state; the vision-encoder-decoder's decoder
 * attends over all of its states. Weights: `embeddings.*` and the stack's `encoder.*`.
 */
export class PatchEncoder {
  readonly encoder: Stack;

  /** `stack`: the encoder's stack config (learned positions over N + 1 tokens); `params` holds the embedding weights, drawn from `rng`. */
  constructor(
    readonly stack: StackConfig,
    readonly grid: PatchGrid,
    numLayers: number,
    seed: number,
    private readonly params: ParamStore,
    holder: object,
    rng: Rng,
  ) {
    const d = stack.dModel;
    const P = grid.numChannels * grid.patchSize ** 2;
    this.encoder = new Stack(stack, 'encoder', numLayers, seed);
    params.add(holder, 'embeddings.patch_embeddings.weight', [P, d], glorot(P, d), rng, true);
    params.add(holder, 'embeddings.patch_embeddings.bias', [d], 'zeros', rng);
    params.add(holder, 'embeddings.cls_token', [1, d], { normal: 0.02 }, rng);
  }

  /** The embedding weights (`embeddings.*`), then the encoder stack's. */
  namedParams(): NamedParam[] {
    return [...this.params.named('').filter((p) => p.name.startsWith('embeddings.')), ...this.encoder.namedParams()];
  }

  /** Encoder states [B, N + 1, d] (CLS first) of `pixels`; the layers' attention maps go to `maps.encoder`. */
  encode(pixels: Float32Array, B: number, training: boolean, maps?: AttentionMaps): tf.Tensor3D {
    const N = gridPatches(this.grid);
    const d = this.stack.dModel;
    const P = this.grid.numChannels * this.grid.patchSize ** 2;
    const patches = imagePatches(pixels, B, this.grid);
    return tf.tidy(() => {
      const p = this.params;
      const scale = this.grid.pixelScale;
      const values = scale === 1 ? tf.tensor3d(patches, [B, N, P]) : tf.mul(tf.tensor3d(patches, [B, N, P]), scale); // [B, N, C·p·p]
      const tokens = linear(values, p.get('embeddings.patch_embeddings.weight'), p.get('embeddings.patch_embeddings.bias')); // [B, N, d]
      const cls = tf.broadcastTo(tf.reshape(p.get('embeddings.cls_token'), [1, 1, d]), [B, 1, d]);
      let x = tf.add(tf.concat([cls, tokens], 1), tf.slice(this.encoder.learnedPositions(), [0, 0], [N + 1, d])) as tf.Tensor3D;
      x = dropout(x, this.stack.dropout, training) as tf.Tensor3D;
      for (const layer of this.encoder.layers) {
        const r = layer.forward(x, { self: {}, training, returnWeights: maps !== undefined });
        x = r.output;
        if (maps) maps.encoder.push(tf.keep(r.selfWeights!)); // outlives this tidy; the caller disposes it
      }
      return this.encoder.finalNorm ? (this.encoder.finalNorm.normalize(x) as tf.Tensor3D) : x;
    });
  }
}

/** The vit-classifier preset; same contract as TransformerModel's classifier, on `TokenBatch.pixels`. */
export class VitModel {
  readonly config: VitClassifierConfig;
  readonly patches: PatchEncoder;
  private readonly params = new ParamStore();
  private readonly holder = new VitParams({});

  constructor(config: VitClassifierConfig, options: { seed?: number } = {}) {
    this.config = config;
    const seed = options.seed ?? 0;
    const rng = createRng(seed * 7919 + 4);
    this.patches = new PatchEncoder(vitStack(config), vitPatchGrid(config), config.numEncoderLayers, seed * 7919 + 2, this.params, this.holder, rng);
    this.params.add(this.holder, 'classifier.weight', [config.dModel, config.numClasses], { normal: 0.02 }, rng, true);
    this.params.add(this.holder, 'classifier.bias', [config.numClasses], 'zeros', rng);
  }

  /** The encoder stack (for the attention maps' readers). */
  get encoder(): Stack {
    return this.patches.encoder;
  }

  namedParams(): NamedParam[] {
    return [...this.patches.namedParams(), ...this.params.named('').filter((p) => p.name.startsWith('classifier.'))];
  }

  trainableVariables(): tf.Variable[] {
    return this.namedParams().map((p) => p.variable);
  }

  parameterCount(): number {
    return this.namedParams().reduce((n, p) => n + p.variable.size, 0);
  }

  /** Encoder states [B, N + 1, d] (CLS first); the layers' attention maps go to `maps.encoder`. */
  encode(source: TokenBatch, options: ForwardOptions = {}, maps?: AttentionMaps): tf.Tensor3D {
    if (!source.pixels) throw new ShapeError("vit-classifier input needs 'pixels' (images [B, C, H, W])");
    return this.patches.encode(source.pixels, source.batchSize, options.training ?? false, maps);
  }

  decode(): tf.Tensor3D {
    throw new ShapeError("preset 'vit-classifier' has no decoder");
  }

  lmLogits(): tf.Tensor3D {
    throw new ShapeError("preset 'vit-classifier' has no language-model head");
  }

  /** Class logits [B, numClasses] from the CLS state (+ encoder attention maps on request). */
  forward(input: TokenBatch, _target?: TokenBatch, options: ForwardOptions = {}): ForwardResult {
    const maps: AttentionMaps = { encoder: [], decoderSelf: [], cross: [] };
    const out = tf.tidy(() => {
      const states = this.encode(input, options, options.returnAttention ? maps : undefined);
      const [B, , d] = states.shape;
      const cls = tf.reshape(tf.slice(states, [0, 0, 0], [B, 1, d]), [B, d]);
      const logits = linear(cls, this.params.get('classifier.weight'), this.params.get('classifier.bias'));
      return { logits, encoder: maps.encoder };
    });
    return options.returnAttention ? { logits: out.logits, attention: { encoder: out.encoder, decoderSelf: [], cross: [] } } : { logits: out.logits };
  }

  dispose(): void {
    for (const p of this.namedParams()) p.variable.dispose();
  }
}

tf.serialization.registerClass(VitParams);
