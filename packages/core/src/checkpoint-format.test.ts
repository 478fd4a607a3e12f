import { describe, expect, it } from 'vitest';
import { checkpointFiles, CHECKPOINT_FILES, metricsJsonl, parseCheckpointFiles, parseTrainerState } from './checkpoint-format.js';
import { createModelConfig, type ModelConfig } from './config.js';
import { CheckpointError } from './errors.js';
import { modelKind } from './models/registry.js';
import { f32Tensor, type NamedTensor } from './safetensors.js';

/** The tensors that pin `config`'s size, filled with `value`. */
function sizedWeights(config: ModelConfig, value = 0.5): Record<string, NamedTensor> {
  const sized = modelKind(config.preset).sizedWeights(config);
  return Object.fromEntries(Object.entries(sized).map(([name, shape]) => [name, f32Tensor(shape, new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(value))]));
}

describe('checkpoint format', () => {
  const config = createModelConfig({ preset: 'decoder-lm', vocabSize: 10, dModel: 8, numHeads: 2, numDecoderLayers: 1, dFf: 16, maxSeqLen: 8 });
  const weights = { ...sizedWeights(config), 'a.weight': f32Tensor([2, 2], [1, 2, 3, 4]) };

  it('round-trips config, weights, tokenizer, trainer state and optimizer moments', () => {
    const trainerState = { step: 3, evals: [], losses: [{ step: 1, loss: 2 }], badEvals: 0 };
    const files = checkpointFiles({ config, weights, tokenizer: { model: 'x' }, trainerState, optimizer: { step: 3, m: { 'a.weight': f32Tensor([1], [5]) }, v: { 'a.weight': f32Tensor([1], [6]) } } });
    expect(Object.keys(files).sort()).toEqual(Object.values(CHECKPOINT_FILES).sort());
    const back = parseCheckpointFiles(files, 'run');
    expect(back.config).toEqual(config);
    expect(Array.from(back.weights['a.weight']!.data)).toEqual(Array.from(new Uint8Array(new Float32Array([1, 2, 3, 4]).buffer)));
    expect(back.tokenizer).toEqual({ model: 'x' });
    expect(back.trainerState).toEqual(trainerState);
    expect(back.optimizer).toEqual({ step: 3, m: { 'a.weight': new Float32Array([5]) }, v: { 'a.weight': new Float32Array([6]) } });
  });

  it('refuses a trainer state and optimizer moments of different steps, naming both files and steps', () => {
    const optimizer = { step: 3, m: { 'a.weight': f32Tensor([1], [5]) }, v: { 'a.weight': f32Tensor([1], [6]) } };
    const files = checkpointFiles({ config, weights, trainerState: { step: 7, evals: [], losses: [], badEvals: 0 }, optimizer });
    expect(() => parseCheckpointFiles(files, 'run')).toThrow(
      new CheckpointError('run/trainer_state.json: step 7 disagrees with run/optimizer.safetensors: step 3; the two files are not from the same save'),
    );
  });

  it('writes metrics.jsonl with the trainer state: one line per evaluation, dev metrics in snake case', () => {
    const trainerState = {
      step: 20,
      evals: [
        { step: 10, metrics: { loss: 2.5, bleu: 12.5, exactMatch: 0.25 }, elapsedS: 1.5, trainLoss: 3 },
        { step: 20, metrics: { loss: 2, bleu: 20, exactMatch: 0.5 }, elapsedS: 3.25, trainLoss: 2.25 },
      ],
      losses: [],
      badEvals: 0,
    };
    const text = new TextDecoder().decode(checkpointFiles({ config, weights, trainerState })[CHECKPOINT_FILES.metrics]);
    expect(text).toBe(metricsJsonl(trainerState));
    expect(text.endsWith('\n')).toBe(true);
    expect(text.trimEnd().split('\n').map((line) => JSON.parse(line))).toEqual([
      { step: 10, elapsed_s: 1.5, train_loss: 3, dev_loss: 2.5, dev_bleu: 12.5, dev_exact_match: 0.25 },
      { step: 20, elapsed_s: 3.25, train_loss: 2.25, dev_loss: 2, dev_bleu: 20, dev_exact_match: 0.5 },
    ]);
    // No trainer state (an exported or hand-made checkpoint): no metrics.jsonl either.
    expect(checkpointFiles({ config, weights })[CHECKPOINT_FILES.metrics]).toBeUndefined();
  });

  it('names the file inside the folder in every error', () => {
    const files = checkpointFiles({ config, weights });
    expect(() => parseCheckpointFiles({ [CHECKPOINT_FILES.weights]: files[CHECKPOINT_FILES.weights]! }, 'run')).toThrow(new CheckpointError('run/config.json: missing'));
    expect(() => parseCheckpointFiles({ ...files, [CHECKPOINT_FILES.tokenizer]: new Uint8Array([0xff]) }, 'run')).toThrow(new CheckpointError('run/tokenizer.json: not valid UTF-8 text'));
    expect(() => parseTrainerState({ step: -1, evals: [], losses: [] }, 'run/trainer_state.json')).toThrow(/run\/trainer_state\.json: 'step' is -1/);
    expect(() => parseTrainerState([], 's')).toThrow('s: expected a JSON object');
  });

  describe('weights checked against the config before a model is built', () => {
    const files = checkpointFiles({ config, weights });
    const withConfig = (changes: Record<string, unknown>): Record<string, Uint8Array> => ({
      ...files,
      [CHECKPOINT_FILES.config]: new TextEncoder().encode(JSON.stringify({ ...config, ...changes })),
    });

    it('refuses a config whose vocabulary, feed-forward width or depth the weights do not have', () => {
      expect(() => parseCheckpointFiles(withConfig({ vocabSize: 20_000_000 }), 'run')).toThrow(
        new CheckpointError("run/model.safetensors: tensor 'embed_tokens.weight' has shape [10,8], but config.json implies [20000000,8]"),
      );
      expect(() => parseCheckpointFiles(withConfig({ dFf: 30_000_000 }), 'run')).toThrow(/run\/model\.safetensors: tensor 'decoder\.layers\.0\.fc1\.weight' has shape \[16,8\], but config\.json implies \[30000000,8\]/);
      expect(() => parseCheckpointFiles(withConfig({ numDecoderLayers: 1000 }), 'run')).toThrow(/missing tensor 'decoder\.layers\.999\.fc1\.weight'/);
    });

    it('pins every kind\'s size fields to a tensor', () => {
      const configs = [
        createModelConfig({ preset: 'encoder-classifier', vocabSize: 10, numClasses: 3, dModel: 8, numHeads: 2, dFf: 16, numEncoderLayers: 2 }),
        createModelConfig({ preset: 'encoder-decoder', vocabSize: 10, dModel: 8, numHeads: 2, dFf: 16, positional: 'learned' }),
        createModelConfig({ preset: 'rnn-seq2seq', vocabSize: 10, dModel: 8 }),
        createModelConfig({ preset: 'vit-classifier', numClasses: 3, dModel: 8, numHeads: 2, dFf: 16 }),
      ];
      for (const c of configs) {
        const ok = checkpointFiles({ config: c, weights: sizedWeights(c) });
        expect(() => parseCheckpointFiles(ok)).not.toThrow();
        const bigger = { ...ok, [CHECKPOINT_FILES.config]: new TextEncoder().encode(JSON.stringify({ ...c, dModel: c.dModel * 2 })) };
        expect(() => parseCheckpointFiles(bigger), c.preset).toThrow(/model\.safetensors: (missing )?tensor '[^']+'/);
      }
    });

    it('refuses NaN and infinite weights, naming the tensor', () => {
      for (const bad of [Number.NaN, Number.POSITIVE_INFINITY]) {
        const poisoned = checkpointFiles({ config, weights: { ...weights, 'a.weight': f32Tensor([2, 2], [1, 2, bad, 4]) } });
        expect(() => parseCheckpointFiles(poisoned, 'run')).toThrow(new CheckpointError(`run/model.safetensors: tensor 'a.weight' holds ${bad} at index 2; weights must be finite`));
      }
    });

    it('refuses a safetensors header that claims more bytes than the file holds', () => {
      const header = new TextEncoder().encode(JSON.stringify({ 'a.weight': { dtype: 'F32', shape: [1_000_000], data_offsets: [0, 4_000_000] } }));
      const bytes = new Uint8Array(8 + header.length);
      new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
      bytes.set(header, 8);
      expect(() => parseCheckpointFiles({ ...files, [CHECKPOINT_FILES.weights]: bytes }, 'run')).toThrow(/run\/model\.safetensors: tensor "a\.weight" has data_offsets \[0, 4000000\] past the end of the 0-byte data buffer/);
    });
  });
});
