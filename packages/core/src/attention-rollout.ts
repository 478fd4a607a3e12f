// Attention over an image from a vision Transformer's attention weights: the CLS token's row
// over the patch grid, and attention rollout (Abnar & Zuidema, 2020, "Quantifying Attention
// Flow in Transformers"): average the heads, add the residual path as ½(A + I), renormalise
// the rows, and multiply the layers, so R says how much each token's final state draws on
// each input token.

import { ShapeError } from './errors.js';

/**
 * Attention rollout of one example: `layers[l][h]` is layer l's head-h attention [T][T]
 * (T = N + 1, CLS first). Returns R = Ā_L · … · Ā_1 with Ā = rownorm(½·mean_h(A) + ½·I).
 */
export function attentionRollout(layers: readonly (readonly (readonly number[])[])[][]): number[][] {
  let rollout: number[][] | undefined;
  for (const heads of layers) {
    const T = heads[0]!.length;
    const a = Array.from({ length: T }, (_, i) =>
      Array.from({ length: T }, (_, j) => 0.5 * heads.reduce((s, h) => s + h[i]![j]!, 0) / heads.length + (i === j ? 0.5 : 0)),
    );
    for (const row of a) {
      const total = row.reduce((s, x) => s + x, 0);
      row.forEach((x, j) => (row[j] = x / total));
    }
    rollout = rollout === undefined ? a : a.map((row) => rollout![0]!.map((_, j) => row.reduce((s, x, k) => s + x * rollout![k]![j]!, 0)));
  }
  if (!rollout) throw new ShapeError('attentionRollout: no layers');
  return rollout;
}

/** The CLS row of a [T][T] attention (or rollout) matrix over the patches, as the patch grid [G][G]. */
export function clsAttentionGrid(matrix: readonly (readonly number[])[]): number[][] {
  const patches = matrix[0]!.slice(1);
  const G = Math.round(Math.sqrt(patches.length));
  if (G * G !== patches.length) throw new ShapeError(`clsAttentionGrid: ${patches.length} patches do not form a square grid`);
  return Array.from({ length: G }, (_, r) => patches.slice(r * G, (r + 1) * G));
}

/**
 * `attentionRollout` from each layer's weights as a flat row-major [H, T, T] array (what the
 * tfjs forward and the ONNX `attentions.{i}` outputs give for one image).
 */
export function flatAttentionRollout(layers: readonly ArrayLike<number>[], numHeads: number): number[][] {
  const T = Math.round(Math.sqrt((layers[0]?.length ?? 0) / numHeads));
  const at = (a: ArrayLike<number>, i: number): number => a[i]!;
  return attentionRollout(
    layers.map((a) => {
      if (a.length !== numHeads * T * T) throw new ShapeError(`flatAttentionRollout: ${a.length} weights are not ${numHeads} heads × T × T`);
      return Array.from({ length: numHeads }, (_, h) => Array.from({ length: T }, (_, q) => Array.from({ length: T }, (_, k) => at(a, (h * T + q) * T + k))));
    }),
  );
}
