// A decoder-lm export folder written with kvCache 'shared': onnx/model_shared_cache.onnx beside
// the unchanged transformers.js graph, listed in config.json's attend_graphs. Opened on
// onnxruntime-node's CPU, its in-place graph is what generation runs, with the standard graph's
// tokens (greedy, seeded sampling, beam search, left-padded prompts); on wasm it is not opened
// and the standard graph generates; on webgpu only over onnxruntime-web's webgpu build (its GPU
// buffers: the playground's e2e/webgpu-kv-cache.test.ts). Bad combinations and bad listings are refused in one line.
// The two graphs share their transposed Linear weights (one array each, as parts of both files),
// and their bytes are those of separate exports.

import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { CharTokenizer, CHECKPOINT_FILES, concatBytes, type DecodeStrategy } from '@attend/core';
import { serializeCheckpoint, setupBackend } from '@attend/transformer';
import { EXPORT_LAYOUTS, openExportFolder, optionalGraphRuns, type ReadFile } from './export-folder.js';
import { exportCheckpointFiles } from './export.js';
import { EXPORT_FILES, exportFolderFiles, exportFolderParts, FOLDER_GRAPHS_KEY } from './folder.js';
import { generateResults, type GenerateOptions } from './generate.js';
import { DECODER_LM_FILES } from './models/decoder-lm/export.js';
import { CachedLmSession, SharedCacheLmSession } from './models/decoder-lm/session.js';
import { createOnnxModel as createNodeModel } from './node.js';
import { asSession } from './graph-session.js';
import { createOnnxModel as createWebModel, usesWebGpuCache } from './web.js';
import type { OnnxModel } from './session.js';
import { makeModel, MAX_LEN, opCounts } from './test-utils/models.js';

const tokenizer = CharTokenizer.fromAlphabet('abcdef');
// GroupQueryAttention needs a head size that is a multiple of 8: dModel 16, 2 heads.
const SIZE = { dModel: 16, numHeads: 2, dFf: 32, vocabSize: tokenizer.vocabSize };
let checkpoint: Record<string, Uint8Array>;
let standard: Record<string, Uint8Array>;
let shared: Record<string, Uint8Array>;

beforeAll(async () => {
  await setupBackend(['cpu']);
  const model = makeModel({ preset: 'decoder-lm', ...SIZE, positional: 'rope', localWindow: 4 }, 7);
  checkpoint = serializeCheckpoint({ model, tokenizer: tokenizer.toJSON() });
  model.dispose();
  standard = exportFolderFiles(checkpoint);
  shared = exportFolderFiles(checkpoint, { kvCache: 'shared' });
});

const memory =
  (files: Record<string, Uint8Array>): ReadFile =>
  async (name) =>
    files[name];

const config = (files: Record<string, Uint8Array>): Record<string, unknown> => JSON.parse(new TextDecoder().decode(files[EXPORT_FILES.config]));
const withConfig = (files: Record<string, Uint8Array>, json: Record<string, unknown>): Record<string, Uint8Array> => ({ ...files, [EXPORT_FILES.config]: new TextEncoder().encode(JSON.stringify(json)) });

const RUNS: GenerateOptions[] = [
  { batchSize: 2, maxNewTokens: MAX_LEN - 1 },
  { batchSize: 3, maxNewTokens: MAX_LEN - 1, strategy: { kind: 'sample', seed: 11, temperature: 1.3, topK: 6 } satisfies DecodeStrategy },
  { batchSize: 1, maxNewTokens: MAX_LEN - 1, strategy: { kind: 'beam', beamSize: 3 } satisfies DecodeStrategy },
  { prompts: [[1, 4, 5], [1], [1, 6, 7, 8]], maxNewTokens: MAX_LEN - 4, strategy: { kind: 'sample', seed: 3, temperature: 0.9 } satisfies DecodeStrategy },
  { prompts: [[1, 4], [1, 6, 7]], maxNewTokens: MAX_LEN - 3, strategy: { kind: 'beam', beamSize: 2 } satisfies DecodeStrategy },
];

describe("export folder with kvCache 'shared'", () => {
  const opened: { release(): Promise<void> }[] = [];
  afterAll(async () => {
    for (const o of opened) await o.release();
  });

  it('writes the in-place graph beside an unchanged transformers.js graph, listed in config.json', () => {
    expect(Object.keys(shared).sort()).toEqual([...Object.keys(standard), DECODER_LM_FILES.sharedCache].sort());
    expect(shared[EXPORT_FILES.model]).toEqual(standard[EXPORT_FILES.model]);
    expect(config(shared)[FOLDER_GRAPHS_KEY]).toEqual({ 'decoder-shared-cache': DECODER_LM_FILES.sharedCache });
    expect(config(standard)[FOLDER_GRAPHS_KEY]).toBeUndefined();
    const { [FOLDER_GRAPHS_KEY]: _, ...rest } = config(shared);
    expect(rest).toEqual(config(standard));
  });

  it('generates through the in-place graph on onnxruntime-node’s CPU, token-identical to the standard graph', async () => {
    const withShared = await openExportFolder(memory(shared), createNodeModel);
    const without = await openExportFolder(memory(standard), createNodeModel);
    opened.push(withShared, without);
    const model = asSession((withShared.sessions as { model: CachedLmSession }).model, CachedLmSession);
    const plain = asSession((without.sessions as { model: CachedLmSession }).model, CachedLmSession);
    expect(plain.inPlaceCache).toBeUndefined();
    expect(model.inPlaceCache).toBeInstanceOf(SharedCacheLmSession);
    expect(model.inPlaceCache!.source).toBe(DECODER_LM_FILES.sharedCache);
    const inPlace = vi.spyOn(model.inPlaceCache!, 'runSharedCache');
    const past = vi.spyOn(model, 'runCached');
    for (const options of RUNS) expect(await generateResults(model, options), JSON.stringify(options)).toEqual(await generateResults(plain, options));
    expect(inPlace).toHaveBeenCalled();
    expect(past).not.toHaveBeenCalled();
  });

  it('with optimize: both graphs fused (the in-place graph always is), generation token-identical to the standard folder', async () => {
    const optimized = exportFolderFiles(checkpoint, { kvCache: 'shared', optimize: true });
    expect(optimized[EXPORT_FILES.model]).toEqual(exportFolderFiles(checkpoint, { optimize: true })[EXPORT_FILES.model]);
    expect(optimized[DECODER_LM_FILES.sharedCache]).toEqual(shared[DECODER_LM_FILES.sharedCache]);
    expect(opCounts(optimized[EXPORT_FILES.model]!, 'com.microsoft')).toEqual({ MultiHeadAttention: 2, RotaryEmbedding: 4, BiasGelu: 2 });
    expect(opCounts(optimized[DECODER_LM_FILES.sharedCache]!, 'com.microsoft')).toEqual({ GroupQueryAttention: 2, RotaryEmbedding: 4, BiasGelu: 2, SkipLayerNormalization: 4 });
    const withShared = await openExportFolder(memory(optimized), createNodeModel);
    const without = await openExportFolder(memory(standard), createNodeModel);
    opened.push(withShared, without);
    const model = asSession((withShared.sessions as { model: CachedLmSession }).model, CachedLmSession);
    const plain = (without.sessions as { model: CachedLmSession }).model;
    const inPlace = vi.spyOn(model.inPlaceCache!, 'runSharedCache');
    for (const options of RUNS) expect(await generateResults(model, options), JSON.stringify(options)).toEqual(await generateResults(plain, options));
    expect(inPlace).toHaveBeenCalled();
  });

  it('releasing the folder’s model releases the in-place graph it owns', async () => {
    const folder = await openExportFolder(memory(shared), createNodeModel);
    const model = (folder.sessions as { model: CachedLmSession }).model;
    const inPlace = vi.spyOn(model.inPlaceCache!, 'release');
    await model.release();
    expect(inPlace).toHaveBeenCalledTimes(1);
    expect(model.inPlaceCache).toBeUndefined();
  });

  it('falls back to the standard graph on wasm (the in-place graph is not opened there)', async () => {
    const web = await openExportFolder(memory(shared), createWebModel, { device: 'wasm' });
    const node = await openExportFolder(memory(shared), createNodeModel);
    opened.push(web, node);
    const model = asSession((web.sessions as { model: CachedLmSession }).model, CachedLmSession);
    expect(model.device).toBe('wasm');
    expect(model.inPlaceCache).toBeUndefined();
    const reference = (node.sessions as { model: CachedLmSession }).model;
    for (const options of RUNS.slice(0, 3)) expect(await generateResults(model, options)).toEqual(await generateResults(reference, options));
  });

  it('opens the in-place graph on webgpu only over a runtime whose GPU buffers it can share (onnxruntime-web’s webgpu build)', async () => {
    const web = await openExportFolder(memory(shared), createWebModel, { device: 'wasm' });
    opened.push(web);
    const graph = EXPORT_LAYOUTS['decoder-lm'].optionalGraphs!['decoder-shared-cache']!;
    const model = (device: string, gpuCache?: object) => ({ device, ortSession: { ort: gpuCache ? { gpuCache } : {} } }) as unknown as OnnxModel;
    expect(optionalGraphRuns(graph, model('cpu'))).toBe(true);
    expect(optionalGraphRuns(graph, model('wasm'))).toBe(false);
    expect(optionalGraphRuns(graph, model('webgpu'))).toBe(false); // the default build: its GroupQueryAttention grows the present instead
    expect(optionalGraphRuns(graph, model('webgpu', {}))).toBe(true);
    expect(usesWebGpuCache(web)).toBe(true);
    const plain = await openExportFolder(memory(standard), createWebModel, { device: 'wasm' });
    opened.push(plain);
    expect(usesWebGpuCache(plain)).toBe(false);
  });

  it('refuses bad combinations and bad listings in one line', async () => {
    expect(() => exportFolderFiles(checkpoint, { kvCache: 'shared', withAttention: true })).toThrow(/^withAttention: the shared-cache graph has no attention weight outputs/);
    const classifier = makeModel({ preset: 'encoder-classifier', ...SIZE, numClasses: 2 }, 1);
    const classifierFiles = serializeCheckpoint({ model: classifier, tokenizer: tokenizer.toJSON() });
    classifier.dispose();
    expect(() => exportFolderFiles(classifierFiles, { kvCache: 'shared' })).toThrow("kvCache: 'shared' writes a decoder-lm's in-place cache graph; a 'encoder-classifier' export has none");
    const { [DECODER_LM_FILES.sharedCache]: _, ...missing } = shared;
    await expect(openExportFolder(memory(missing), createNodeModel)).rejects.toThrow(`${DECODER_LM_FILES.sharedCache}: missing (config.json lists it)`);
    await expect(openExportFolder(memory(withConfig(shared, { ...config(shared), [FOLDER_GRAPHS_KEY]: { 'decoder-shared-cache': 'onnx/other.onnx' } })), createNodeModel)).rejects.toThrow(
      `config.json: 'attend_graphs' lists 'decoder-shared-cache' → onnx/other.onnx, which a decoder-lm export does not have (its decoder-shared-cache graph is ${DECODER_LM_FILES.sharedCache})`,
    );
    await expect(openExportFolder(memory(withConfig(shared, { ...config(shared), [FOLDER_GRAPHS_KEY]: ['x'] })), createNodeModel)).rejects.toThrow("config.json: 'attend_graphs' must map graph kinds to file paths");
    // The standard graph's bytes under the in-place graph's name: the kind is checked.
    await expect(openExportFolder(memory({ ...shared, [DECODER_LM_FILES.sharedCache]: shared[EXPORT_FILES.model]! }), createNodeModel)).rejects.toThrow(`${DECODER_LM_FILES.sharedCache}: holds a 'decoder-with-past' graph, expected 'decoder-shared-cache'`);
  });

  it('shares the transposed Linear weights between the two graphs; the bytes are those of separate exports', () => {
    // Weights of 64 KiB or more are parts of their own (views): [128, 128] and [128, 512] matrices.
    const model = makeModel({ preset: 'decoder-lm', ...SIZE, dModel: 128, dFf: 512, numDecoderLayers: 2 }, 3);
    const files = serializeCheckpoint({ model, tokenizer: tokenizer.toJSON() });
    model.dispose();
    const parts = exportFolderParts(files, { kvCache: 'shared' });
    const [standardParts, sharedParts] = [parts[EXPORT_FILES.model], parts[DECODER_LM_FILES.sharedCache]] as Uint8Array[][];
    const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(b);
    expect(same(concatBytes(standardParts!), exportCheckpointFiles(files, { kvCache: true }))).toBe(true);
    expect(same(concatBytes(sharedParts!), exportCheckpointFiles(files, { kvCache: 'shared' }))).toBe(true);
    // Weight arrays of the standard graph that the in-place graph's file is written from too (not the checkpoint's own bytes):
    // each layer's out_proj, fc1 and fc2 (its Q, K and V go into one fused matrix).
    const checkpointBytes = files[CHECKPOINT_FILES.weights]!.buffer;
    const arrays = (list: Uint8Array[]) => new Set(list.filter((p) => p.byteLength >= 64 * 1024 && p.buffer !== checkpointBytes).map((p) => p.buffer));
    const standardArrays = arrays(standardParts!);
    expect([...arrays(sharedParts!)].filter((b) => standardArrays.has(b))).toHaveLength(2 * 3);
  });
});
