// What an in-page training run is asked to do, and its checks: kept apart from train.ts so
// the page can check the form without loading tfjs.

import { SYNTHETIC_TASKS, type SyntheticTaskName } from '@attend/core';

export interface TrainRequest {
  task: SyntheticTaskName;
  steps: number;
  dModel: number;
  numHeads: number;
  /** Encoder and decoder layers each. */
  layers: number;
  /** Longest string of copy/reverse/sort (date strings have their own lengths). */
  maxLength: number;
  learningRate: number;
  seed: number;
}

/** Limits that keep in-page training tiny; the form and the worker both check them. */
const LIMITS = { steps: [1, 3000], dModel: [8, 128], numHeads: [1, 8], layers: [1, 3], maxLength: [3, 20] } as const;

/** Checks a request from the form: one message naming the field and what is allowed. */
export function checkTrainRequest(r: TrainRequest): TrainRequest {
  if (!(SYNTHETIC_TASKS as readonly string[]).includes(r.task)) throw new RangeError(`task '${r.task}' is not one of ${SYNTHETIC_TASKS.join(', ')}`);
  for (const [field, [lo, hi]] of Object.entries(LIMITS) as [keyof typeof LIMITS, readonly [number, number]][]) {
    const v = r[field];
    if (!Number.isInteger(v) || v < lo || v > hi) throw new RangeError(`${field} is ${v}; expected an integer in [${lo}, ${hi}]`);
  }
  if (r.dModel % r.numHeads !== 0) throw new RangeError(`dModel ${r.dModel} is not divisible by numHeads ${r.numHeads}`);
  if (!(r.learningRate > 0 && r.learningRate <= 0.1)) throw new RangeError(`learningRate is ${r.learningRate}; expected a number in (0, 0.1]`);
  return r;
}

export type TrainEvent =
  | { type: 'backend'; name: string; fallbacks: { name: string; reason: string }[] }
  | { type: 'data'; train: number; dev: number; vocabSize: number; parameters: number; examples: { source: string; target: string }[] }
  | { type: 'step'; step: number; totalSteps: number; loss: number; tokensPerSecond: number }
  /** `steps`: the steps trained; `stopped`: the run was stopped before its last step; `backend`: tfjs's backend at the end. */
  | { type: 'done'; exactMatch: number; seconds: number; steps: number; stopped: boolean; backend: string; files: Record<string, Uint8Array> }
  /** Stopped before the first step: nothing to export. */
  | { type: 'stopped'; step: 0 };

/** What the page sends the worker: start a run, or stop it after the current step. */
export type WorkerRequest = { type: 'start'; start: TrainStart } | { type: 'stop' };

/** The form's tfjs backend choice: 'auto' is WebGPU when the browser gives an adapter, wasm otherwise. */
export type TrainBackendChoice = 'auto' | TrainStart['backend'];

/** The tfjs backend a run tries first for the form's `choice` (wasm stays the fallback of each). */
export function trainBackend(choice: TrainBackendChoice, hasWebGpu: boolean): TrainStart['backend'] {
  if (choice !== 'auto') return choice;
  return hasWebGpu ? 'webgpu' : 'wasm';
}

export interface TrainStart {
  request: TrainRequest;
  /** tfjs backend to try first; wasm is the fallback. */
  backend: 'wasm' | 'webgl' | 'webgpu';
  /** URL of the folder holding the tfjs wasm binaries. */
  wasmBase: string;
}
