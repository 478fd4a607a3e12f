// The patch encoder that the vit-classifier and the vision-encoder-decoder's encoder share, over
// ForwardGraph's encoder layers: pixel_values → patch embedding (× pixelScale), CLS first,
// learned positions, the encoder stack. Each kind's graph (models/vit-classifier/export.ts,
// models/vision-encoder-decoder/export.ts) is a subclass that adds its outputs.

import type { PatchGrid } from '@attend/core';
import { BATCH, ForwardGraph, type PatchEncoderStack, type VitStack } from '../../transformer-graph.js';
import type { Value } from '../../onnx/graph.js';

/** ForwardGraph over a ViT-style encoder: the stack of the vit-classifier or of the vision-encoder-decoder's encoder. */
export class PatchEncoderGraph<C extends VitStack | PatchEncoderStack> extends ForwardGraph<C> {
  /**
   * pixel_values [B, C, H, W] through the patch embedding (each patch flattened channel, row,
   * column, times pixelScale), CLS first, learned positions and the encoder layers (every patch
   * sees every patch): the encoder states [B, T, d], T = N + 1, and each layer's attention.
   */
  protected encodePatches(grid: PatchGrid): { states: Value; maps: Value[]; T: number } {
    const { g, config: c, d } = this;
    const { imageHeight: Hi, imageWidth: Wi, patchSize: p, numChannels: C } = grid;
    const [GH, GW] = [Hi / p, Wi / p];
    const N = GH * GW;
    const P = C * p * p;
    const T = N + 1;
    const pixels = g.input('pixel_values', 'float32', [BATCH, C, Hi, Wi]);
    // [B, C, GH, p, GW, p] → [B, GH, GW, C, p, p] → [B, N, C·p·p]: patches row-major over the grid, each flattened channel, row, column.
    let patches = g.reshape(g.transpose(g.reshape(pixels, [0, C, GH, p, GW, p]), [0, 2, 4, 1, 3, 5]), [0, N, P]);
    if (grid.pixelScale !== 1) patches = g.mul(patches, g.floats([grid.pixelScale]));
    const tokens = this.linear(patches, 'embeddings.patch_embeddings', d, P); // [B, N, d]
    const clsToken = g.initializer('embeddings.cls_token', 'float32', [1, 1, d], this.w.get('embeddings.cls_token', [1, d]));
    const batchShape = g.concat([g.unsqueeze(g.dimSize(pixels, 0), [0]), g.int64s([1, d])], 0); // [B, 1, d]
    const cls = g.op('Expand', [clsToken, batchShape]);
    const name = 'encoder.embed_positions.weight';
    const positions = g.slice(this.table(name, () => this.w.get(name, [c.maxSeqLen, d]), [c.maxSeqLen, d]), [0], [T], [0]); // [T, d]
    const x = g.add(g.concat([cls, tokens], 1), positions); // [B, T, d]
    const { states, maps } = this.layers('encoder', x, {});
    return { states, maps: maps.self, T };
  }
}
