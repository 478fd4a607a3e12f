// The CLI's glimpse-classifier (the recurrent attention model): an image classifier that trains on
// --images or the cluttered-digits canvases like the others; `attention` lists where it looked —
// the deterministic glimpse locations, drawn step by step on the canvas (glimpse-figure.ts).

import type { GlimpseClassifierConfig } from '@attend/core';
import { GLIMPSE_LOCATIONS } from '@attend/runtime-onnx';
import { CliError } from '../errors.js';
import { imageInputs } from '../inputs.js';
import { withPngLines } from '../png-input.js';
import { predicted } from './attention.js';
import type { CliKind } from './kind.js';
import { IMAGE_BENCH, imageExportRun, imageParity, imageTraining } from './vit-classifier.js';

export const GLIMPSE_CLASSIFIER: CliKind<GlimpseClassifierConfig> = {
  train: imageTraining('glimpses'),
  attention: {
    async checkpoint(t, model, config, _tokenizer, text) {
      if (!(model instanceof t.GlimpseModel)) throw new CliError(`a ${config.preset} checkpoint did not load as a glimpse model`);
      const { pixels } = imageInputs(await withPngLines([text], config), config);
      const r = model.rollout(t.imageTrainBatch(pixels, new Int32Array(1), config).input, false);
      const output = predicted(r.logits.dataSync() as Float32Array, config.numClasses);
      const locations = (r.locations.arraySync() as [number, number][][])[0]!;
      for (const x of [r.logits, r.locations, r.means, r.baselines]) x.dispose();
      return { output, sets: [], glimpses: { config, pixels, locations } };
    },
    export: (dir, config, text) =>
      imageExportRun(dir, config, text, (out, pixels) => {
        const glimpses = out.attentions[GLIMPSE_LOCATIONS];
        if (!glimpses) throw new CliError(`${dir}: the export has no '${GLIMPSE_LOCATIONS}' output`);
        const locations = Array.from({ length: glimpses.dims[1]! }, (_, s): [number, number] => [glimpses.data[2 * s]!, glimpses.data[2 * s + 1]!]);
        return { output: predicted(out.logits.data, config.numClasses), sets: [], glimpses: { config, pixels, locations } };
      }),
  },
  parity: imageParity,
  bench: IMAGE_BENCH,
  flopsLength: 'context',
};
