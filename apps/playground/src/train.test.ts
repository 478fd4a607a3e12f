import { describe, expect, it } from 'vitest';
import { setupBackend } from '@attend/transformer';
import { checkTrainRequest, trainAndExport, trainBackend, type TrainEvent, type TrainRequest } from './train.js';
import { memoryFolderFiles, readModelFolder } from './model-folder.js';

const base: TrainRequest = { task: 'reverse', steps: 10, dModel: 16, numHeads: 2, layers: 1, maxLength: 5, learningRate: 5e-3, seed: 1 };

describe('checkTrainRequest', () => {
  it('names the field and the allowed values', () => {
    expect(checkTrainRequest(base)).toBe(base);
    expect(() => checkTrainRequest({ ...base, steps: 0 })).toThrow('steps is 0; expected an integer in [1, 3000]');
    expect(() => checkTrainRequest({ ...base, layers: 1.5 })).toThrow('layers is 1.5; expected an integer in [1, 3]');
    expect(() => checkTrainRequest({ ...base, dModel: 18, numHeads: 4 })).toThrow('dModel 18 is not divisible by numHeads 4');
    expect(() => checkTrainRequest({ ...base, task: 'parity' as TrainRequest['task'] })).toThrow("task 'parity' is not one of copy, reverse, sort, date");
    expect(() => checkTrainRequest({ ...base, learningRate: 0 })).toThrow('learningRate is 0; expected a number in (0, 0.1]');
  });
});

describe('trainBackend', () => {
  it("takes WebGPU for 'auto' only when the browser has an adapter, and a named backend as it is", () => {
    expect(trainBackend('auto', true)).toBe('webgpu');
    expect(trainBackend('auto', false)).toBe('wasm');
    expect(trainBackend('wasm', true)).toBe('wasm');
    expect(trainBackend('webgl', false)).toBe('webgl');
  });
});

describe('trainAndExport', () => {
  it('trains, reports every step, and returns an export folder the page can load', async () => {
    await setupBackend();
    const events: TrainEvent[] = [];
    const files = await trainAndExport(base, (e) => events.push(e));
    expect(events.map((e) => e.type)).toEqual(['data', ...Array<string>(10).fill('step'), 'done']);
    expect(events.at(-1)).toMatchObject({ type: 'done', steps: 10, stopped: false, backend: 'wasm' });
    const steps = events.filter((e) => e.type === 'step');
    expect(steps.map((e) => e.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    for (const e of steps) expect(Number.isFinite(e.loss) && e.loss > 0).toBe(true);
    const folder = await readModelFolder(memoryFolderFiles(files!), '');
    expect(folder.config).toMatchObject({ preset: 'encoder-decoder', dModel: 16, numHeads: 2, numEncoderLayers: 1, numDecoderLayers: 1 });
    expect(folder.hasAttention).toBe(true);
  });

  it("with the form's defaults (index.html's, and main.ts's learning rate and seed) reaches the README's 80 % dev exact match", async () => {
    await setupBackend();
    const events: TrainEvent[] = [];
    const defaults: TrainRequest = { task: 'copy', steps: 200, dModel: 32, numHeads: 2, layers: 1, maxLength: 8, learningRate: 5e-3, seed: 1 };
    await trainAndExport(defaults, (e) => events.push(e));
    // The figure apps/playground/README.md quotes ("80 % dev exact match"): change both together.
    expect(events.at(-1)).toMatchObject({ type: 'done', steps: 200, stopped: false, exactMatch: 0.8 });
  });

  it('stops after the current step when aborted, and still exports what was trained', async () => {
    await setupBackend();
    const controller = new AbortController();
    const events: TrainEvent[] = [];
    // Aborted from a step report, as the worker's stop message would be between steps.
    const files = await trainAndExport({ ...base, steps: 3000 }, (e) => (events.push(e), e.type === 'step' && e.step === 10 && controller.abort()), controller.signal);
    expect(events.at(-1)).toMatchObject({ type: 'done', steps: 10, stopped: true });
    const folder = await readModelFolder(memoryFolderFiles(files!), '');
    expect(folder.hasAttention).toBe(true);
  });

  it('exports nothing when stopped before the first step', async () => {
    await setupBackend();
    const controller = new AbortController();
    controller.abort();
    const events: TrainEvent[] = [];
    expect(await trainAndExport(base, (e) => events.push(e), controller.signal)).toBeUndefined();
    expect(events.map((e) => e.type)).toEqual(['data', 'stopped']);
  });
});
