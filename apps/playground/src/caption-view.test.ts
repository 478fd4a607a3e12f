import { describe, expect, it } from 'vitest';
import { configAs, createRng, patchAttentionLayout, upsampleAttention } from '@attend/core';
import { captionImages, captionVisionImages, createOnnxModel, type OnnxModel } from '@attend/runtime-onnx/node';
import { captionScene, wordMatrix } from './caption-view.js';
import { paint } from './image.js';
import { openSessions, releaseSessions } from './runtime.js';
import { memoryFolderFiles, readModelFolder, textTokenizer } from './model-folder.js';
import { tinyExport } from './test-utils/fixtures.js';

const GRAPHS = {
  'image-captioner': ['onnx/captioner_encoder.onnx', 'onnx/captioner_decoder_step.onnx'],
  'vision-encoder-decoder': ['onnx/encoder_model.onnx', 'onnx/decoder_model_merged.onnx'],
} as const;

async function load(preset: keyof typeof GRAPHS, fields: Record<string, unknown>, withAttention = true) {
  const folder = await readModelFolder(memoryFolderFiles(await tinyExport(preset, { withAttention, fields: { imageHeight: 8, imageWidth: 16, maxSeqLen: 6, ...fields } })), 'c/');
  const [encoder, decoder] = await Promise.all(GRAPHS[preset].map((path) => createOnnxModel(folder.graphs[path]!)));
  return { folder, sessions: { encoder: encoder!, decoder: decoder! } };
}

const scene = (seed: number): Float32Array => {
  const rng = createRng(seed);
  return Float32Array.from({ length: 8 * 16 }, () => rng.next());
};
/** The runtime and the raw ONNX Runtime sessions under the two models. */
const raw = (s: { encoder: OnnxModel; decoder: OnnxModel }) => ({ ort: s.encoder.ortSession.ort, sessions: { encoder: s.encoder.ortSession.session, decoder: s.decoder.ortSession.session } });

describe('captionScene: a caption with each word’s attention over the scene', () => {
  it('soft attention: the caption and α per word are runtime-onnx’s captionImages’ (its own attention output), one α per grid location', async () => {
    const { folder, sessions } = await load('image-captioner', { visualAttention: 'soft', patchSize: 4, patchStride: 4 });
    const config = configAs(folder.config, ['image-captioner'], 'the test');
    const pixels = scene(1);
    const got = await captionScene(sessions, textTokenizer(folder), pixels);
    const [want] = await captionImages(raw(sessions).ort, raw(sessions).sessions, config, pixels, 1);
    expect(got.output).toBe(textTokenizer(folder).decode(want!.ids));
    expect(got.grid).toEqual({ rows: 2, cols: 4, window: 4, stride: 4 });
    expect(got.alphas).toHaveLength(want!.attention!.length);
    got.alphas.forEach((a, t) => expect(Array.from(a)).toEqual(Array.from(want!.attention![t]!)));
    // The panel's matrix is α spread over each window's pixels: 16 pixels per location, summing to 16.
    const m = wordMatrix(got, 0);
    expect([m.rows, m.cols]).toEqual([8, 16]);
    expect(m.values.reduce((a, b) => a + b, 0)).toBeCloseTo(16, 4);
    expect(Array.from(m.values)).toEqual(Array.from(upsampleAttention(got.alphas[0]!, got.grid, 8, 16)));
  });

  it('the Transformer captioner: its greedy caption, α over the patches without CLS, and a chosen layer and head', async () => {
    const { folder, sessions } = await load('vision-encoder-decoder', { patchSize: 4 });
    const config = configAs(folder.config, ['vision-encoder-decoder'], 'the test');
    const pixels = scene(2);
    const got = await captionScene(sessions, textTokenizer(folder), pixels);
    const [want] = await captionVisionImages(raw(sessions).ort, raw(sessions).sessions, config, pixels, 1);
    expect(got.output).toBe(textTokenizer(folder).decode(want!));
    expect(got.grid).toEqual(patchAttentionLayout(config).grid);
    expect(got.words.length).toBeGreaterThan(0);
    for (const a of got.alphas) {
      expect(a).toHaveLength(2 * 4);
      const sum = Array.from(a).reduce((x, y) => x + y, 0);
      expect(sum).toBeGreaterThan(0);
      expect(sum).toBeLessThan(1); // the CLS state's weight is left out
    }
    const picked = await captionScene(sessions, textTokenizer(folder), pixels, { layer: 0, head: 1 });
    expect(picked.output).toBe(got.output);
    expect(picked.alphas.map((a) => Array.from(a))).not.toEqual(got.alphas.map((a) => Array.from(a)));
  });

  it("hard attention: each reading is runtime-onnx's captionImages with that reading; the arg-max outlines its location, the expectation does not", async () => {
    const { folder, sessions } = await load('image-captioner', { visualAttention: 'hard', patchSize: 4, patchStride: 4 });
    const config = configAs(folder.config, ['image-captioner'], 'the test');
    const pixels = scene(5);
    const alphas: Record<string, number[][]> = {};
    for (const hardInference of ['argmax', 'expectation'] as const) {
      const got = await captionScene(sessions, textTokenizer(folder), pixels, {}, { hardInference });
      const [want] = await captionImages(raw(sessions).ort, raw(sessions).sessions, config, pixels, 1, { kind: 'greedy' }, { hardInference });
      expect(got.output, hardInference).toBe(textTokenizer(folder).decode(want!.ids));
      expect(got.alphas.map((a) => Array.from(a)), hardInference).toEqual(want!.attention!.map((a) => Array.from(a)));
      expect(got.hard, hardInference).toBe(hardInference === 'argmax');
      alphas[hardInference] = got.alphas.map((a) => Array.from(a));
    }
    expect(alphas.expectation).not.toEqual(alphas.argmax);
    expect((await captionScene(sessions, textTokenizer(folder), pixels)).alphas.map((a) => Array.from(a))).toEqual(alphas.argmax);
  });

  it('an export without attention outputs, or Show and Tell, is one line naming why', async () => {
    const plain = await load('vision-encoder-decoder', { patchSize: 4 }, false);
    await expect(captionScene(plain.sessions, textTokenizer(plain.folder), scene(3))).rejects.toThrow(/this export has no attention outputs \(Show and Tell has none; a Transformer captioner needs --with-attention\)/);
    const none = await load('image-captioner', { visualAttention: 'none', patchSize: 4, patchStride: 4 });
    await expect(captionScene(none.sessions, textTokenizer(none.folder), scene(3))).rejects.toThrow(/this export has no attention outputs/);
  });

  it('a captioner folder opens as the page’s caption sessions on wasm and captions as on node', async () => {
    const { folder, sessions } = await load('vision-encoder-decoder', { patchSize: 4 });
    const opened = await openSessions(folder, 'wasm');
    try {
      expect(opened.sessions.kind).toBe('caption');
      if (opened.sessions.kind !== 'caption') throw new Error('unreachable');
      const web = await captionScene(opened.sessions, textTokenizer(folder), scene(4));
      const node = await captionScene(sessions, textTokenizer(folder), scene(4));
      expect(web.words).toEqual(node.words);
      web.alphas.forEach((a, t) => Array.from(a).forEach((x, i) => expect(Math.abs(x - node.alphas[t]![i]!)).toBeLessThanOrEqual(1e-4)));
    } finally {
      await releaseSessions(opened.sessions);
    }
  });

  it('the brush paints a wide grey scene: the cell at full value, its neighbours at half, nothing past the edge', () => {
    const out = paint({ imageHeight: 4, imageWidth: 8, pixelScale: 1 / 16 }, new Float32Array(32), 0, 7);
    const at = (r: number, c: number) => out[r * 8 + c];
    expect([at(0, 7), at(1, 7), at(0, 6)]).toEqual([16, 8, 8]);
    expect(out.reduce((a, b) => a + b, 0)).toBe(32);
  });
});
