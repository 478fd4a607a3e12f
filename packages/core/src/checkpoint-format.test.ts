import { describe, expect, it } from 'vitest';
import { checkpointFiles, CHECKPOINT_FILES, parseCheckpointFiles, parseTrainerState } from './checkpoint-format.js';
import { createModelConfig } from './config.js';
import { CheckpointError } from './errors.js';
import { f32Tensor } from './safetensors.js';

describe('checkpoint format', () => {
  const config = createModelConfig({ preset: 'decoder-lm', vocabSize: 10, dModel: 8, numHeads: 2, numDecoderLayers: 1, dFf: 16, maxSeqLen: 8 });
  const weights = { 'a.weight': f32Tensor([2, 2], [1, 2, 3, 4]) };

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

  it('names the file inside the folder in every error', () => {
    const files = checkpointFiles({ config, weights });
    expect(() => parseCheckpointFiles({ [CHECKPOINT_FILES.weights]: files[CHECKPOINT_FILES.weights]! }, 'run')).toThrow(new CheckpointError('run/config.json: missing'));
    expect(() => parseCheckpointFiles({ ...files, [CHECKPOINT_FILES.tokenizer]: new Uint8Array([0xff]) }, 'run')).toThrow(new CheckpointError('run/tokenizer.json: not valid UTF-8 text'));
    expect(() => parseTrainerState({ step: -1, evals: [], losses: [] }, 'run/trainer_state.json')).toThrow(/run\/trainer_state\.json: 'step' is -1/);
    expect(() => parseTrainerState([], 's')).toThrow('s: expected a JSON object');
  });
});
