// The CLI's canvas-classifier and stn-classifier: image classifiers that read the canvas whole
// (an MLP, and the spatial transformer in front of one); they train on --images or the
// cluttered-digits canvases like the ViT. `attention` on the STN draws its sampling grid on the
// input and the image it read (stn-figure.ts); the plain classifier has nothing to draw.

import type { CanvasClassifierConfig, StnClassifierConfig } from '@attend/core';
import { CliError, NothingToDrawError } from '../errors.js';
import { imageInputs } from '../inputs.js';
import { withPngLines } from '../png-input.js';
import { predicted } from './attention.js';
import type { CliKind, KindAttention } from './kind.js';
import { IMAGE_BENCH, imageExportRun, imageParity, imageTraining } from './vit-classifier.js';

/** An stn-classifier's picture of one image: θ [6] and the sampled image, from raw `pixels`. */
function stnAttention(config: StnClassifierConfig, pixels: Float32Array, logits: Float32Array, theta: ArrayLike<number>, transformed: Float32Array): KindAttention {
  const output = predicted(logits, config.numClasses);
  const S = config.imageSize;
  const input = Float32Array.from(pixels.subarray(0, S * S), (x) => x * config.pixelScale);
  const title = `spatial transformer: image → ${output}; θ = [${Array.from(theta, (t) => t.toFixed(2)).join(', ')}]`;
  return { output, sets: [], stn: { input, inputSize: S, theta, output: transformed.subarray(0, config.outputSize ** 2), outputSize: config.outputSize, title } };
}

const nothingToDraw = (what: string) => async (): Promise<KindAttention> => {
  throw new NothingToDrawError(`${what}: a canvas-classifier reads the whole canvas; it has no attention or sampling grid to draw`);
};

export const CANVAS_CLASSIFIER: CliKind<CanvasClassifierConfig> = {
  train: imageTraining('whole'),
  attention: { checkpoint: nothingToDraw('the checkpoint'), export: (dir) => nothingToDraw(dir)() },
  parity: imageParity,
  bench: IMAGE_BENCH,
  flopsLength: 'context',
};

export const STN_CLASSIFIER: CliKind<StnClassifierConfig> = {
  train: imageTraining('whole'),
  attention: {
    async checkpoint(t, model, config, _tokenizer, text) {
      if (!(model instanceof t.StnModel)) throw new CliError(`a ${config.preset} checkpoint did not load as a spatial transformer`);
      const { pixels } = imageInputs(await withPngLines([text], config), config);
      const input = t.imageTrainBatch(pixels, new Int32Array(1), config).input;
      const { theta, output } = model.transform(input);
      const logits = model.forward(input).logits;
      try {
        return stnAttention(config, pixels, logits.dataSync() as Float32Array, theta.dataSync(), output.dataSync() as Float32Array);
      } finally {
        [theta, output, logits].forEach((x) => x.dispose());
      }
    },
    export: (dir, config, text) =>
      imageExportRun(dir, config, text, (out, pixels) => {
        const { theta, transformed } = out.attentions;
        if (!theta || !transformed) throw new CliError(`${dir}: the export has no 'theta' and 'transformed' outputs; export it with --with-attention, or pass the checkpoint`);
        return stnAttention(config, pixels, out.logits.data, theta.data, transformed.data);
      }),
  },
  parity: imageParity,
  bench: IMAGE_BENCH,
  flopsLength: 'context',
};
