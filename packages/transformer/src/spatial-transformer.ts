// The spatial transformer's differentiable crop (Jaderberg et al., NIPS 2015, §3.2–3.3): an
// affine map θ takes each output pixel's normalised coordinates to a point of the input
// (`affineGrid`), and the input is read there by bilinear interpolation (`gridSample`), so the
// loss has a gradient with respect to both the image and θ. Conventions are those of PyTorch's
// `affine_grid` / `grid_sample` with `align_corners=False` and zero padding (and of ONNX
// GridSample, the export's operator): coordinates in [−1, 1] span the pixels' outer edges.

import * as tf from '@tensorflow/tfjs-core';

/**
 * The sampling grid [B, H, W, 2] (x, y in [−1, 1]) of the affine maps `theta` [B, 2, 3] for an
 * H × W output: grid[b, i, j] = θ_b · (x_j, y_i, 1) with x_j = (2j + 1)/W − 1, y_i = (2i + 1)/H − 1.
 */
export function affineGrid(theta: tf.Tensor3D, height: number, width: number): tf.Tensor4D {
  return tf.tidy(() => {
    const B = theta.shape[0];
    const base = new Float32Array(height * width * 3);
    for (let i = 0; i < height; i++) {
      for (let j = 0; j < width; j++) {
        const at = (i * width + j) * 3;
        base[at] = (2 * j + 1) / width - 1;
        base[at + 1] = (2 * i + 1) / height - 1;
        base[at + 2] = 1;
      }
    }
    const points = tf.broadcastTo(tf.tensor3d(base, [1, height * width, 3]), [B, height * width, 3]);
    return tf.reshape(tf.matMul(points, theta, false, true), [B, height, width, 2]) as tf.Tensor4D;
  });
}

/**
 * `image` [B, C, H, W] read at `grid` [B, Ho, Wo, 2] by bilinear interpolation → [B, C, Ho, Wo];
 * points outside the image read 0 (zero padding). Differentiable in the image (through a
 * gather) and in the grid (through the interpolation weights).
 */
export function gridSample(image: tf.Tensor4D, grid: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => {
    const [B, C, H, W] = image.shape;
    const [, Ho, Wo] = grid.shape;
    const N = Ho * Wo;
    // Pixel coordinates: −1 is the left edge of pixel 0, so pixel centres sit at (2k + 1)/W − 1.
    const [gx, gy] = tf.split(tf.reshape(grid, [B, N, 2]), 2, 2);
    const ix = tf.div(tf.sub(tf.mul(tf.add(tf.squeeze(gx!, [2]), 1), W), 1), 2); // [B, N]
    const iy = tf.div(tf.sub(tf.mul(tf.add(tf.squeeze(gy!, [2]), 1), H), 1), 2);
    // The corners, off the gradient tape: only the weights carry the gradient in the grid.
    const x0 = detached(tf.floor(ix));
    const y0 = detached(tf.floor(iy));
    const fx = tf.sub(ix, x0); // the weights' gradient path
    const fy = tf.sub(iy, y0);
    // Rows of the flattened image [B·H·W, C], one per (batch, pixel).
    const pixels = tf.reshape(tf.transpose(image, [0, 2, 3, 1]), [B * H * W, C]);
    const rowOffset = tf.reshape(tf.mul(tf.range(0, B, 1, 'int32'), tf.scalar(H * W, 'int32')), [B, 1]);
    let out: tf.Tensor | undefined;
    for (const [dy, wy] of [[0, tf.sub(1, fy)], [1, fy]] as const) {
      for (const [dx, wx] of [[0, tf.sub(1, fx)], [1, fx]] as const) {
        const x = tf.add(x0, dx);
        const y = tf.add(y0, dy);
        const inside = tf.cast(tf.logicalAnd(tf.logicalAnd(tf.greaterEqual(x, 0), tf.lessEqual(x, W - 1)), tf.logicalAnd(tf.greaterEqual(y, 0), tf.lessEqual(y, H - 1))), 'float32');
        const row = tf.mul(tf.cast(tf.clipByValue(y, 0, H - 1), 'int32'), tf.scalar(W, 'int32'));
        const index = tf.add(tf.add(row, tf.cast(tf.clipByValue(x, 0, W - 1), 'int32')), rowOffset); // [B, N]
        const values = tf.reshape(tf.gather(pixels, tf.reshape(index, [B * N])), [B, N, C]);
        const term = tf.mul(values, tf.expandDims(tf.mul(tf.mul(wy, wx), inside), 2));
        out = out ? tf.add(out, term) : term;
      }
    }
    return tf.transpose(tf.reshape(out!, [B, Ho, Wo, C]), [0, 3, 1, 2]) as tf.Tensor4D;
  });
}

/** A copy of `t` that the gradient tape does not connect to what made it. */
export function detached(t: tf.Tensor): tf.Tensor {
  return tf.tensor(t.dataSync(), t.shape, t.dtype);
}

/**
 * The glimpse sensor of the recurrent attention model (Mnih et al., 2014, §3.1): around each
 * location `centres` [B, 2] (x, y in [−1, 1]), `scales` square patches of side `patch`·2^s
 * pixels (s = 0 … scales − 1), each read down to patch × patch by bilinear sampling → [B,
 * scales·C, patch, patch]. The coarser patches see more of the image at lower resolution.
 * Differentiable in the image; the locations are chosen by a policy (REINFORCE), not by gradient.
 */
export function glimpse(image: tf.Tensor4D, centres: tf.Tensor2D, patch: number, scales: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [B, , H, W] = image.shape;
    const [cx, cy] = tf.split(centres, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
    const zeros = tf.zeros([B, 1]);
    const reads: tf.Tensor4D[] = [];
    for (let s = 0; s < scales; s++) {
      const side = patch * 2 ** s; // pixels the patch covers
      const theta = tf.reshape(tf.concat([tf.fill([B, 1], side / W), zeros, cx, zeros, tf.fill([B, 1], side / H), cy], 1), [B, 2, 3]) as tf.Tensor3D;
      reads.push(gridSample(image, affineGrid(theta, patch, patch)));
    }
    return tf.concat(reads, 1) as tf.Tensor4D;
  });
}
