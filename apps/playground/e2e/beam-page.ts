// What webgpu-beam.test.ts runs in the page (the test bundles this module with the app's vite
// config): the playground's own folder reading and session opening (runtime.ts: on WebGPU a
// folder with the in-place KV-cache graph opens on onnxruntime-web's webgpu build, its cache in
// GPU buffers; on wasm the standard graph), then core's beam search over runtime-onnx's step
// function, which reorders the cache rows by the beams' parents every step.

import { beamSearch, tokenConfig, type StepFunction } from '@attend/core';
import { onnxStepFunction, type OnnxModel } from '@attend/runtime-onnx/web';
import { memoryFolderFiles, readModelFolder } from '../src/model-folder.js';
import { configureOrt, openSessions, releaseSessions } from '../src/runtime.js';

/** Hypotheses of a beam search and how often it reordered the cache. */
export interface BeamResult {
  /** Per prompt, its hypotheses best first. */
  hypotheses: { ids: number[]; score: number; logProb: number }[][];
  /** Steps whose beams continue other rows than their own (parents neither the identity nor a change of the row count). */
  reorders: number;
}

export interface BeamRun extends BeamResult {
  /** The device that ran the sessions, and the page's note on the KV-cache graph ("KV cache in GPU buffers (…)"), if any. */
  device: string;
  kvCache?: string;
}

/** Beam search of `beamSize` over `prompts` (left-padded to one length) with a decoder-lm KV-cache `model`, to the context's end. */
export async function beamOver(model: OnnxModel, prompts: number[][], beamSize: number): Promise<BeamResult> {
  const c = tokenConfig(model.config, 'beam search');
  const inner = onnxStepFunction(model, { prompts });
  let reorders = 0;
  let rows = 0;
  const step: StepFunction = (tokens, batchSize, length, context) => {
    const parents = context?.parents;
    if (parents && parents.length === rows && parents.some((p, i) => p !== i)) reorders++;
    rows = batchSize;
    return inner(tokens, batchSize, length, context);
  };
  const longest = Math.max(...prompts.map((p) => p.length));
  const found = await beamSearch(step, { batchSize: prompts.length, vocabSize: c.vocabSize, bosTokenId: c.bosTokenId, eosTokenId: c.eosTokenId, maxNewTokens: c.maxSeqLen - longest, beamSize });
  return { hypotheses: found.map((row) => row.map(({ ids, score, logProb }) => ({ ids, score, logProb }))), reorders };
}

/**
 * Opens the folder `files` (path → bytes) on `device` as the page does, with onnxruntime-web's
 * files under `ortBase`, and runs beamOver with its generating session.
 */
export async function beamInPage(files: Record<string, number[]>, device: 'wasm' | 'webgpu', prompts: number[][], beamSize: number, ortBase: string): Promise<BeamRun> {
  configureOrt(ortBase, 1);
  const folder = await readModelFolder(memoryFolderFiles(Object.fromEntries(Object.entries(files).map(([path, bytes]) => [path, Uint8Array.from(bytes)]))), 'beam/');
  const opened = await openSessions(folder, device);
  try {
    if (opened.sessions.kind !== 'lm') throw new Error(`beam/ holds a ${folder.config.preset}, not a decoder-lm`);
    return { device: opened.device, ...(opened.kvCache ? { kvCache: opened.kvCache } : {}), ...(await beamOver(opened.sessions.model, prompts, beamSize)) };
  } finally {
    await releaseSessions(opened.sessions);
  }
}
