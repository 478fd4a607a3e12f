// The image-captioner through the tools after `attend train`: infer on the export folder (as on
// the checkpoint, CSV rows and PNG scenes alike, onnxruntime-node and -web), eval on test digit
// scenes (the checkpoint's scores equal the export's; by digit count), attention per generated
// word from both (the same words and weights; the SVG's panels), bench's ms per caption; and
// the one-line errors.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { digitRowsOf, digitScenes, imageToTextConfig, readCsvClassification, tokenizerFromJSON } from '@attend/core';
import { captionTask, crossEntropy, loadCheckpoint, setupBackend } from '@attend/transformer';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attend } from './test-utils/attend.js';
import { checkBench, checkEvalAgrees, checkInferAgrees, csvRow, SCENE_H as H, SCENE_W as W, scene, trainLstmCaptioner, wordLines, writePng, type CaptionEvalJson } from './test-utils/caption-scenes.js';

let dir = '';
let digits = '';
let run = '';
let exported = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attend-caption-tools-'));
  ({ digits, run, exported } = await trainLstmCaptioner(dir, 'soft'));
}, 240_000);

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the image-captioner through infer, eval, attention and bench', () => {
  it('infer: the export folder captions CSV rows as the checkpoint does, on cpu and wasm, greedy and beam; a PNG as its pixel row', async () => {
    await checkInferAgrees(run, exported, dir);
  }, 120_000);

  it('infer: a PNG of another size is refused before decoding, naming the file and both sizes', async () => {
    const png = join(dir, 'small.png');
    await writePng(png, new Array<number>(8 * 8).fill(0), 8, 8);
    const r = await attend(['infer', exported, png]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${png}: 8×8 pixels; the model takes ${W}×${H} images`);
  });

  it('eval: test scenes score the same from the checkpoint and the export, by digit count', async () => {
    expect((await checkEvalAgrees(run, exported, digits, 40)).strategy).toBe('greedy');
    const text = await attend(['eval', exported, '--digits-csv', digits, '--scenes', '10', '--scene-digits', '2']);
    expect(text.stdout).toMatch(/^exact match +\d+\.\d\d% +\(\d+\/10; greedy captions of test scenes/m);
    expect(text.stdout).toMatch(/^2 digits +\d+\.\d\d% +exact match of 10 scenes; BLEU \d+\.\d\d, BLEU-2 \d+\.\d\d$/m);
    expect(text.stdout).toMatch(/^test loss +\d+\.\d{4} +\(teacher-forced cross-entropy, nats per caption token with the end token; perplexity \d+\.\d{3}; 30 tokens of 10 scenes\)$/m);
  }, 120_000);

  it("eval: the test loss is the trainer's teacher-forced cross-entropy of the same scenes (tfjs crossEntropy over caption-task batches)", async () => {
    const r = await attend(['eval', run, '--digits-csv', digits, '--scenes', '12', '--scene-digits', '1-2', '--batch-size', '12', '--json']);
    expect(r.stderr).toBe('');
    const { metrics } = JSON.parse(r.stdout) as CaptionEvalJson;
    await setupBackend();
    const { model, config, tokenizer } = await loadCheckpoint(run);
    // eval's one batch of 12 scenes: seed 1 · 1,000,003 + 0 (caption-eval.ts).
    const scenes = digitScenes(digitRowsOf(await readCsvClassification(digits), 'test'), { count: 12, seed: 1_000_003, height: H, width: W, minDigits: 1, maxDigits: 2, clutter: 0 });
    const images = scenes.map((s) => ({ pixels: s.pixels, caption: s.caption }));
    const captioner = imageToTextConfig(config, 'test');
    const batch = captionTask(images, images, tokenizerFromJSON(tokenizer!, 'tokenizer.json'), captioner, { batchSize: 12, seed: 1 }).nextBatch(0);
    const { logits } = model.forward(batch.input, batch.target);
    const loss = crossEntropy(logits.reshape([-1, captioner.vocabSize]), batch.labels, { weights: batch.labelWeights });
    expect(metrics.loss).toBeCloseTo(loss.dataSync()[0]!, 5);
    expect(metrics.lossTokens).toBe(batch.labelWeights!.reduce((a, b) => a + b, 0));
    model.dispose();
  }, 120_000);

  it("eval: scenes with more words than the decoder writes are left out of the test loss, and the line says how many", async () => {
    const one = join(dir, 'one-digit');
    const t = await attend(['train', '--task', 'digit-scenes', '--digits-csv', digits, '--captioner', 'none', '--steps', '2', '--eval-every', '2', '--d-model', '8', '--batch-size', '4', '--examples', '16', '--dev-size', '4', '--canvas', `${H}x${W}`, '--scene-digits', '1', '--out', one]);
    expect(t.code).toBe(0);
    // Trained on one digit: maxSeqLen 3, captions of at most 2 words.
    const r = await attend(['eval', one, '--digits-csv', digits, '--scenes', '12', '--scene-digits', '1-3', '--json']);
    expect(r.stderr).toBe('');
    const { metrics } = JSON.parse(r.stdout) as CaptionEvalJson;
    const three = metrics.byDigits.find((g) => g.digits === 3)!.scenes;
    expect(three).toBeGreaterThan(0);
    expect(metrics.lossScenes).toBe(12 - three);
    expect(metrics.lossTokens).toBe(metrics.byDigits.reduce((n, g) => n + (g.digits < 3 ? (g.digits + 1) * g.scenes : 0), 0));
    const text = await attend(['eval', one, '--digits-csv', digits, '--scenes', '12', '--scene-digits', '1-3']);
    expect(text.stdout).toContain(`of ${12 - three} scenes; ${three} scenes of more than 2 words, the decoder's longest caption, left out)\n`);
    const none = await attend(['eval', one, '--digits-csv', digits, '--scenes', '4', '--scene-digits', '3', '--json']);
    expect(JSON.parse(none.stdout).metrics).toMatchObject({ lossTokens: 0, lossScenes: 0 });
    expect(JSON.parse(none.stdout).metrics.loss).toBeUndefined();
    const noneText = await attend(['eval', one, '--digits-csv', digits, '--scenes', '4', '--scene-digits', '3']);
    expect(noneText.stdout).toMatch(/^test loss +- +\(no scene's caption fits the decoder; 4 scenes of more than 2 words, the decoder's longest caption, left out\)$/m);
  }, 120_000);

  it.each([
    [['--images', 'DIGITS'], '--images: ', 'evaluate it with --digits-csv FILE'],
    [['--digits-csv', 'DIGITS', '--scenes', '200000'], '--scenes: 200000 is over the limit of 100,000 scenes', ''],
    [['--digits-csv', 'DIGITS', '--scene-digits', '4'], '--scene-digits: 4 digits of 8 px do not fit side by side in a canvas 24 wide', ''],
  ])('eval %j is a usage error naming the flag', async (flags, message, more) => {
    const r = await attend(['eval', exported, ...flags.map((f) => (f === 'DIGITS' ? digits : f))]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr).toContain(more);
  });

  it('attention: each generated word with its α over the scene, the same from the checkpoint and the export', async () => {
    const input = csvRow(scene(2));
    const outs = [];
    for (const [model, out] of [[run, join(dir, 'att-ckpt')], [exported, join(dir, 'att-onnx')]] as const) {
      const r = await attend(['attention', model, input, '--out', out]);
      expect(r.stderr).toBe('');
      outs.push({ stdout: r.stdout, svg: await readFile(join(out, 'attention-caption.svg'), 'utf8') });
    }
    // The terminal lines (words, largest α and where) agree to the printed digits.
    expect(wordLines(outs[1]!.stdout)).toEqual(wordLines(outs[0]!.stdout));
    const output = /^output: (.*)$/m.exec(outs[0]!.stdout)![1]!;
    const words = wordLines(outs[0]!.stdout).map((l) => l.split(/\s+/)[0]!);
    // One panel per produced word: the caption's words, then </s> when it ended with eos.
    expect(words.slice(0, output === '' ? 0 : output.split(' ').length).join(' ')).toBe(output);
    for (const word of words) expect(outs[0]!.svg).toContain(`>${word.replace('<', '&lt;').replace('>', '&gt;')}</text>`);
    expect(outs[0]!.svg).toContain('weight at a pixel');
    expect(outs[0]!.stdout).toMatch(/wrote .*attention-caption\.svg \(\d+ words over a 2×5 grid\)/);
  }, 120_000);

  it('attention: a captioner without attention says so in one line', async () => {
    const none = join(dir, 'none');
    const t = await attend(['train', '--task', 'digit-scenes', '--digits-csv', digits, '--captioner', 'none', '--steps', '2', '--eval-every', '2', '--d-model', '8', '--batch-size', '4', '--examples', '16', '--dev-size', '4', '--canvas', `${H}x${W}`, '--scene-digits', '1-2', '--out', none]);
    expect(t.code).toBe(0);
    const r = await attend(['attention', none, csvRow(scene(0)), '--out', join(dir, 'att-none')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("this image-captioner has no attention (visualAttention 'none'");
  }, 120_000);

  it('bench: an export times the forward, the per-word step and whole captions; a checkpoint its training step', async () => {
    await checkBench(run, exported);
  }, 120_000);
});
