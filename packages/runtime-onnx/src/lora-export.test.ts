// An exported LoRA checkpoint holds the adapters merged into its weights: the ONNX graph of a
// model with random (non-zero) adapters equals the unmerged tfjs model to 1e-4, and the export
// folder's config describes the merged model (no `lora`).

import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { CharTokenizer, createRng, isLoraName, parseSafetensors, serializeSafetensors, type Preset } from '@attend/core';
import { deserializeCheckpoint, serializeCheckpoint, setupBackend, withLora } from '@attend/transformer';
import { createOnnxModel } from './node.js';
import { exportCheckpointFiles } from './export.js';
import { exportFolderFiles } from './folder.js';
import { EXPORT_FILES } from './folder-files.js';
import { checkpointFiles, forwardOf, makeModel, maxAbsDiff, perturbed, randomBatch } from './test-utils/models.js';

const PRESETS: Preset[] = ['encoder-classifier', 'decoder-lm', 'encoder-decoder'];
const lora = { rank: 2, alpha: 6, targets: ['q', 'k', 'v', 'o', 'fc1', 'fc2'] };

beforeAll(async () => {
  await setupBackend();
});

describe('export of a LoRA checkpoint', () => {
  for (const [index, preset] of PRESETS.entries()) {
    it(`${preset}: the graph of the merged weights equals the unmerged tfjs model`, async () => {
      // Every weight random, the adapters' B too (perturbed draws them all), so the adapters change the outputs.
      const model = perturbed(withLora(makeModel({ preset }, index), lora, index), index + 50);
      const rng = createRng(index + 5);
      const source = randomBatch(rng, [6, 3], 6);
      const target = randomBatch(rng, [4, 2], 4);
      const files = checkpointFiles(model);
      expect(Object.keys(JSON.parse(new TextDecoder().decode(files['config.json']!)))).toContain('lora');
      const expected = tf.tidy(() => model.forward(source, preset === 'encoder-decoder' ? target : undefined).logits.dataSync() as Float32Array);
      // The same model without its adapters.
      const { tensors } = parseSafetensors(files['model.safetensors']!);
      const plain = deserializeCheckpoint({
        'config.json': new TextEncoder().encode(JSON.stringify(model.base.config)),
        'model.safetensors': serializeSafetensors(Object.fromEntries(Object.entries(tensors).filter(([name]) => !isLoraName(name)))),
      }).model;
      const without = tf.tidy(() => plain.forward(source, preset === 'encoder-decoder' ? target : undefined).logits.dataSync() as Float32Array);
      plain.dispose();
      const session = await createOnnxModel(exportCheckpointFiles(files));
      try {
        const out = await forwardOf(session).run({
          inputIds: { data: source.ids, batchSize: 2, seqLen: 6 },
          attentionMask: { data: source.mask, batchSize: 2, seqLen: 6 },
          ...(preset === 'encoder-decoder' ? { decoderInputIds: { data: target.ids, batchSize: 2, seqLen: 4 }, decoderAttentionMask: { data: target.mask, batchSize: 2, seqLen: 4 } } : {}),
        });
        expect(maxAbsDiff(out.logits.data, expected)).toBeLessThanOrEqual(1e-4);
        // The adapters matter: without them the outputs are far off.
        expect(maxAbsDiff(expected, without)).toBeGreaterThan(1e-2);
      } finally {
        await session.release();
        model.dispose();
      }
    });
  }

  it("the export folder's config.json has no lora: it describes the merged model", () => {
    const model = withLora(makeModel({ preset: 'encoder-classifier' }, 1), { rank: 1, alpha: 1, targets: ['q'] }, 1);
    const files = serializeCheckpoint({ model, tokenizer: CharTokenizer.fromAlphabet('abcdefghi').toJSON() });
    const folder = exportFolderFiles(files);
    const config = JSON.parse(new TextDecoder().decode(folder[EXPORT_FILES.config]!));
    expect(config.attend.preset).toBe('encoder-classifier');
    expect(config.attend.lora).toBeUndefined();
    model.dispose();
  });
});
