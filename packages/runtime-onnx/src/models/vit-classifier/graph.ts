// The vit-classifier's forward graph: the patch embedding, CLS token and positions in front of
// the Transformer encoder stack that ForwardGraph builds for every Transformer kind.

import { BATCH, ForwardGraph, type VitStack } from '../../transformer-graph.js';

/** The vit-classifier graph builder: a ForwardGraph over core's vitStack view of the config. */
export class VitGraph extends ForwardGraph<VitStack> {
  /**
   * The vit-classifier graph, as @attend/transformer's VitModel: pixel_values [B, C, S, S] (raw
   * values; × pixelScale here) → logits [B, classes] (+ attentions.{i} [B, H, N + 1, N + 1]).
   */
  build(withAttention: boolean): void {
    const { g, config: c, d } = this;
    const S = c.imageSize;
    const p = c.patchSize;
    const C = c.numChannels;
    const G = S / p;
    const N = G * G;
    const P = C * p * p;
    const T = N + 1;
    const pixels = g.input('pixel_values', 'float32', [BATCH, C, S, S]);
    // [B, C, G, p, G, p] → [B, G, G, C, p, p] → [B, N, C·p·p]: patches row-major over the grid, each flattened channel, row, column.
    let patches = g.reshape(g.transpose(g.reshape(pixels, [0, C, G, p, G, p]), [0, 2, 4, 1, 3, 5]), [0, N, P]);
    if (c.pixelScale !== 1) patches = g.mul(patches, g.floats([c.pixelScale]));
    const tokens = this.linear(patches, 'embeddings.patch_embeddings', d, P); // [B, N, d]
    const clsToken = g.initializer('embeddings.cls_token', 'float32', [1, 1, d], this.w.get('embeddings.cls_token', [1, d]));
    const batchShape = g.concat([g.unsqueeze(g.dimSize(pixels, 0), [0]), g.int64s([1, d])], 0); // [B, 1, d]
    const cls = g.op('Expand', [clsToken, batchShape]);
    const name = 'encoder.embed_positions.weight';
    const positions = g.slice(this.table(name, () => this.w.get(name, [c.maxSeqLen, d]), [c.maxSeqLen, d]), [0], [T], [0]); // [T, d]
    const x = g.add(g.concat([cls, tokens], 1), positions); // [B, T, d]
    const { states, maps } = this.layers('encoder', x, {}); // every patch sees every patch
    g.output('logits', this.classify(states), 'float32', [BATCH, c.numClasses]);
    if (withAttention) this.outputMaps('attentions', maps.self, T, T);
  }
}
