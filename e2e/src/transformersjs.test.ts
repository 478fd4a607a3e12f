// transformers.js loads attend export folders offline and decodes exactly like attend's own
// runtime: a decoder-lm (gpt2 layout, onnx/model.onnx with the KV cache) over the positional
// encodings and a local window, standard and optimized (fused com.microsoft operators, which also
// decode as the standard folder does) and with the in-place KV-cache graph beside it (kvCache
// 'shared': attend generates with it, transformers.js reads the same folder), a trained encoder–decoder (marian layout, encoder_model.onnx +
// decoder_model_merged.onnx), a vision Transformer (vit layout: the same logits for the same
// pixel_values), and a Transformer captioner trained on digit scenes (vision-encoder-decoder layout:
// the image-to-text pipeline writes attend's greedy captions). @huggingface/transformers is a dev dependency of this workspace only.

import { existsSync } from 'node:fs';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AutoModelForCausalLM, AutoModelForImageClassification, AutoModelForSeq2SeqLM, AutoModelForVision2Seq, AutoTokenizer, env, pipeline, RawImage, Tensor } from '@huggingface/transformers';
import { CharTokenizer, copyTask, createModelConfig, createRng, DIGIT_WORDS, digitScenes, POSITIONAL_ENCODINGS, readCsvClassification, sampleLmBatch, WordTokenizer, type PositionalEncoding, type Tokenizer, type VisionEncoderDecoderConfig } from '@attend/core';
import { captionTask, createModel, imageBatch, lmTrainBatch, seq2seqTask, serializeCheckpoint, setupBackend, train, translate as translateTfjs, TransformerModel, type AttendModel } from '@attend/transformer';
import { CachedLmSession, exportFolder, generate, loadExportFolder, loadSeq2SeqFolder, loadVitFolder, translate } from '@attend/runtime-onnx/node';

let root: string;

beforeAll(async () => {
  await setupBackend();
  root = await mkdtemp(join(tmpdir(), 'attend-tjs-'));
  env.allowRemoteModels = false;
  env.localModelPath = root;
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Writes a checkpoint of `model` (with `tokenizer`, when it has one) and exports it to `<root>/<name>` (`optimize`: fused operators). */
async function exported(name: string, model: AttendModel, tokenizer?: Pick<Tokenizer, 'toJSON'>, optimize = false, kvCache: 'standard' | 'shared' = 'standard'): Promise<string> {
  const ckpt = join(root, `${name}-ckpt`);
  await mkdir(ckpt);
  for (const [file, bytes] of Object.entries(serializeCheckpoint({ model, ...(tokenizer ? { tokenizer: tokenizer.toJSON() } : {}) }))) await writeFile(join(ckpt, file), bytes);
  model.dispose();
  await exportFolder(ckpt, join(root, name), { optimize, kvCache });
  return join(root, name);
}

/** `model` with its weights redrawn N(0, 0.3²), layer-norm scales around 1: logits that differ per class. */
function redrawn<M extends AttendModel>(model: M, seed: number): M {
  model.namedParams().forEach(({ name, variable }, i) => {
    const mean = /layer_norm\.weight$/.test(name) ? 1 : 0;
    tf.tidy(() => variable.assign(tf.randomNormal(variable.shape, mean, 0.3, 'float32', seed + i)));
  });
  return model;
}

const int64 = (ids: readonly number[]): Tensor => new Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]);
/** Generated ids up to the first eos (2). */
const untilEos = (ids: number[]): number[] => (ids.includes(2) ? ids.slice(0, ids.indexOf(2)) : ids);
const ones = (n: number): Tensor => new Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]);

describe('decoder-lm (gpt2 layout): the same greedy continuation', () => {
  const tokenizer = CharTokenizer.fromAlphabet('abcdefghijklm');
  // kvCache 'shared': attend generates with onnx/model_shared_cache.onnx, transformers.js with onnx/model.onnx of the same folder.
  const cases: { positional: PositionalEncoding; localWindow: number | null; optimize: boolean; kvCache?: 'shared' }[] = [
    ...POSITIONAL_ENCODINGS.map((positional) => ({ positional, localWindow: null, optimize: false })),
    { positional: 'rope', localWindow: 3, optimize: false },
    { positional: 'rope', localWindow: null, optimize: true },
    { positional: 'alibi', localWindow: 3, optimize: true },
    { positional: 'rope', localWindow: 3, optimize: false, kvCache: 'shared' },
  ];

  it.each(cases)('$positional, localWindow $localWindow, optimize $optimize, kvCache $kvCache', async ({ positional, localWindow, optimize, kvCache }) => {
    const name = `lm-${positional}-${localWindow ?? 'global'}${optimize ? '-optimized' : ''}${kvCache ? '-shared' : ''}`;
    // A few steps on the cyclic alphabet, so that the continuation is not one repeated token.
    const config = createModelConfig({
      preset: 'decoder-lm', vocabSize: tokenizer.vocabSize, dModel: 16, numHeads: 2, numDecoderLayers: 2, dFf: 32, maxSeqLen: 24,
      dropout: 0, positional, localWindow,
    });
    const model = new TransformerModel(config, { seed: 5 });
    const stream = tokenizer.encode('abcdefghijklm'.repeat(20));
    await train(model, (step) => lmTrainBatch(sampleLmBatch(stream, { batchSize: 8, contextLength: 16, rng: createRng(step) })), { steps: 60, learningRate: 1e-2 });
    const dir = await exported(name, model, tokenizer, optimize, kvCache);
    const prompt = [1, ...tokenizer.encode('cdefg')];
    const { model: onnx, release } = await loadExportFolder(dir);
    expect(onnx instanceof CachedLmSession && onnx.inPlaceCache !== undefined).toBe(kvCache === 'shared');
    const ours = (await generate(onnx, { prompts: [prompt], maxNewTokens: 12 }))[0]!;
    await release();
    if (optimize) {
      await exportFolder(`${dir}-ckpt`, `${dir}-standard`);
      const { model: standard } = await loadExportFolder(`${dir}-standard`);
      expect((await generate(standard, { prompts: [prompt], maxNewTokens: 12 }))[0]).toEqual(ours);
      await standard.release();
    }

    const tjsTokenizer = await AutoTokenizer.from_pretrained(name);
    expect(Array.from(tjsTokenizer.encode('cdefg', { add_special_tokens: false }))).toEqual(tokenizer.encode('cdefg'));
    const lm = await AutoModelForCausalLM.from_pretrained(name, { dtype: 'fp32', device: 'cpu' });
    const out = (await lm.generate({ input_ids: int64(prompt), attention_mask: ones(prompt.length), max_new_tokens: 12, do_sample: false })) as Tensor;
    expect(new Set(ours).size, `a continuation worth comparing: ${ours}`).toBeGreaterThan(1);
    expect(untilEos(Array.from(out.data as BigInt64Array, Number).slice(prompt.length))).toEqual(ours);

    // A batch of prompts of different lengths, left-padded as transformers.js pads them.
    const prompts = [prompt, [1, ...tokenizer.encode('kl')]];
    const { model: again, release: releaseAgain } = await loadExportFolder(dir);
    const oursBatched = await generate(again, { prompts, maxNewTokens: 12 });
    await releaseAgain();
    expect(oursBatched[0]).toEqual(ours);
    const n = prompt.length;
    const padded = prompts.flatMap((p) => [...new Array<number>(n - p.length).fill(0), ...p]);
    const mask = prompts.flatMap((p) => [...new Array<number>(n - p.length).fill(0), ...new Array<number>(p.length).fill(1)]);
    const batched = (await lm.generate({
      input_ids: new Tensor('int64', BigInt64Array.from(padded, BigInt), [2, n]),
      attention_mask: new Tensor('int64', BigInt64Array.from(mask, BigInt), [2, n]),
      max_new_tokens: 12,
      do_sample: false,
    })) as Tensor;
    await lm.dispose();
    const width = batched.dims[1]!;
    const rows = [0, 1].map((b) => untilEos(Array.from((batched.data as BigInt64Array).slice(b * width + n, (b + 1) * width), Number)));
    expect(rows).toEqual(oursBatched);
  });
});

describe('encoder–decoder (marian layout)', () => {
  it('a copy-task model decodes 40 held-out sources to the same strings', async () => {
    const tokenizer = CharTokenizer.fromAlphabet('abcdef');
    const pairs = copyTask({ count: 2000, seed: 7, minLength: 2, maxLength: 6, alphabet: 'abcdef' });
    const dev = pairs.slice(0, 40);
    const config = createModelConfig({
      preset: 'encoder-decoder', vocabSize: tokenizer.vocabSize, dModel: 32, numHeads: 4, numEncoderLayers: 1, numDecoderLayers: 1,
      dFf: 64, maxSeqLen: 10, dropout: 0, positional: 'rope',
    });
    const task = seq2seqTask(pairs.slice(40), dev, tokenizer, { batchSize: 32, seed: 7, maxSrcLen: 6, maxTgtLen: 6 });
    const model = new TransformerModel(config, { seed: 7 });
    await train(model, task.nextBatch, { steps: 250, learningRate: 5e-3 });
    const dir = await exported('s2s', model, tokenizer);

    const { model: onnx } = await loadSeq2SeqFolder(dir);
    const tjsTokenizer = await AutoTokenizer.from_pretrained('s2s');
    const s2s = await AutoModelForSeq2SeqLM.from_pretrained('s2s', { dtype: 'fp32', device: 'cpu' });
    const ours: string[] = [];
    const theirs: string[] = [];
    for (const { source } of dev) {
      const src = tokenizer.encode(source);
      ours.push(tokenizer.decode((await translate(onnx, { ids: src, batchSize: 1, seqLen: src.length }, { maxNewTokens: 7 }))[0]!));
      const out = (await s2s.generate({ inputs: int64(src), attention_mask: ones(src.length), max_new_tokens: 8, do_sample: false, num_beams: 1 })) as Tensor;
      // The char tokenizer's decoder joins tokens with spaces in transformers.js; the alphabet has none.
      theirs.push(tjsTokenizer.decode(Array.from(out.data as BigInt64Array, Number), { skip_special_tokens: true }).replace(/ /g, ''));
    }
    await s2s.dispose();
    await onnx.encoder.release();
    await onnx.decoder.release();
    expect(theirs).toEqual(ours);
    // Trained enough that the outputs are mostly right, i.e. not a degenerate agreement.
    expect(ours.filter((o, i) => o === dev[i]!.target).length).toBeGreaterThanOrEqual(10);
  });
});

describe('vit-classifier (vit layout): the same logits', () => {
  it('AutoModelForImageClassification runs the folder on pixel_values and gives runImages logits', async () => {
    const config = createModelConfig({ preset: 'vit-classifier', numClasses: 5, dModel: 16, numHeads: 2, numEncoderLayers: 2, dFf: 32, imageSize: 8, patchSize: 2, numChannels: 3, pixelScale: 1 / 255, dropout: 0 });
    const dir = await exported('vit', redrawn(createModel(config, { seed: 3 }), 3));
    const rng = createRng(4);
    const B = 2;
    const pixels = Float32Array.from({ length: B * 3 * 64 }, () => Math.round(rng.next() * 255));
    const onnx = await loadVitFolder(dir);
    const ours = await onnx.runImages(pixels, B);
    await onnx.release();
    const vit = await AutoModelForImageClassification.from_pretrained('vit', { dtype: 'fp32', device: 'cpu' });
    const out = (await vit({ pixel_values: new Tensor('float32', pixels, [B, 3, 8, 8]) })) as { logits: Tensor };
    expect(out.logits.dims).toEqual([B, 5]);
    const theirs = out.logits.data as Float32Array;
    expect(Math.max(...Array.from(theirs, (x, i) => Math.abs(x - ours.logits.data[i]!)))).toBeLessThanOrEqual(1e-5);
    const logits = Array.from(ours.logits.data);
    expect(Math.max(...logits) - Math.min(...logits), 'logits worth comparing').toBeGreaterThan(0.1);
  });
});

const DIGITS = '/work/shared/data/digits8x8.csv';

describe.skipIf(!existsSync(DIGITS))('vision-encoder-decoder (VisionEncoderDecoderModel layout)', () => {
  it('a captioner of single-digit scenes: the image-to-text pipeline and generate give attend\'s greedy captions', async () => {
    const rows = await readCsvClassification(DIGITS);
    const shape = { height: 12, width: 24, minDigits: 1, maxDigits: 1 };
    // Grey bytes 0–255, as the pipeline reads an image; the model scales them (pixelScale 1/255).
    const toImages = (scenes: ReturnType<typeof digitScenes>) => scenes.map((s) => ({ pixels: Float32Array.from(s.pixels, (v) => Math.round(v * 255)), caption: s.caption }));
    const trainImages = toImages(digitScenes(rows.slice(0, 1400), { count: 2000, seed: 1, ...shape }));
    const testImages = toImages(digitScenes(rows.slice(1400), { count: 20, seed: 2, ...shape }));
    const tokenizer = WordTokenizer.fromCorpus(DIGIT_WORDS.slice());
    const config: VisionEncoderDecoderConfig = createModelConfig({
      preset: 'vision-encoder-decoder', vocabSize: tokenizer.vocabSize, dModel: 32, numHeads: 4, dFf: 64, numEncoderLayers: 1, numDecoderLayers: 1,
      imageHeight: 12, imageWidth: 24, patchSize: 4, maxSeqLen: 4, dropout: 0, pixelScale: 1 / 255,
    });
    const model = createModel(config, { seed: 1 });
    const task = captionTask(trainImages, testImages, tokenizer, config, { batchSize: 32, seed: 1 });
    await train(model, task.nextBatch, { steps: 300, learningRate: 3e-3, logEvery: 1000 });
    const pixels = new Float32Array(testImages.length * 12 * 24);
    testImages.forEach((image, i) => pixels.set(image.pixels, i * 12 * 24));
    const ours = await translateTfjs(model, imageBatch(pixels, testImages.length, config), { maxNewTokens: config.maxSeqLen - 1 });
    await exported('ved', model, tokenizer);

    const ved = await AutoModelForVision2Seq.from_pretrained('ved', { dtype: 'fp32', device: 'cpu' });
    const captioner = await pipeline('image-to-text', 'ved', { dtype: 'fp32', device: 'cpu' });
    const theirs: number[][] = [];
    const texts: string[] = [];
    for (const image of testImages) {
      const out = (await ved.generate({ pixel_values: new Tensor('float32', image.pixels, [1, 1, 12, 24]), max_new_tokens: config.maxSeqLen - 1, do_sample: false, num_beams: 1 })) as Tensor;
      theirs.push(untilEos(Array.from(out.data as BigInt64Array, Number).slice(1)));
      const raw = new RawImage(Uint8ClampedArray.from(image.pixels), 24, 12, 1);
      texts.push(((await captioner(raw, { max_new_tokens: config.maxSeqLen - 1 })) as { generated_text: string }[])[0]!.generated_text);
    }
    await ved.dispose();
    await captioner.dispose();
    expect(theirs).toEqual(ours);
    expect(texts).toEqual(ours.map((ids) => tokenizer.decode(ids)));
    // Trained enough that the captions are mostly right, i.e. not a degenerate agreement.
    expect(texts.filter((t, i) => t === testImages[i]!.caption).length).toBeGreaterThanOrEqual(5);
  }, 300_000);
});
