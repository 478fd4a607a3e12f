// attend train --task digit-scenes --captioner transformer (the vision-encoder-decoder) end to
// end on a small made-up digits file: a tiny run writes its checkpoint, --resume continues it,
// infer captions CSV rows greedily and with beam search, export writes transformers.js's
// VisionEncoderDecoderModel folder at parity; a clash with --preset is a usage error.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attend } from './test-utils/attend.js';
import { writeBarDigits } from './test-utils/bar-digits.js';

let dir = '';
let digits = '';

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attend-vcaptions-'));
  digits = await writeBarDigits(dir);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const TINY = ['--d-model', '16', '--heads', '2', '--layers', '1', '--batch-size', '8', '--examples', '64', '--dev-size', '8', '--canvas', '12x24', '--scene-digits', '1-2'];
const WORDS = /^((zero|one|two|three|four|five|six|seven|eight|nine)( |$))*$/;

describe('attend train --task digit-scenes --captioner transformer', () => {
  it('trains a vision-encoder-decoder, resumes it, captions rows and exports it at parity', async () => {
    const out = join(dir, 'run');
    const r = await attend(['train', '--task', 'digit-scenes', '--digits-csv', digits, '--captioner', 'transformer', '--patch-size', '4', '--steps', '6', '--eval-every', '3', '--out', out, ...TINY]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('training vision-encoder-decoder on task digit-scenes');
    expect(r.stdout).toMatch(/^ {2}data {6}64 scenes, dev 8; 12×24 pixels, Transformer encoder–decoder$/m);
    expect(r.stdout).toMatch(/eval @ step 6: dev exact match \d+\.\d\d%, dev BLEU \d+\.\d\d, dev loss \d/);
    const config = JSON.parse(await readFile(join(out, 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(config).toMatchObject({ preset: 'vision-encoder-decoder', imageHeight: 12, imageWidth: 24, patchSize: 4, maxSeqLen: 4, dModel: 16, numEncoderLayers: 1, numDecoderLayers: 1 });
    expect(config).not.toHaveProperty('visualAttention');

    const resumed = await attend(['train', '--task', 'digit-scenes', '--digits-csv', digits, '--captioner', 'transformer', '--patch-size', '4', '--steps', '9', '--eval-every', '3', '--out', out, '--resume', ...TINY]);
    expect(resumed.stderr).toBe('');
    expect(resumed.stdout).toContain('resuming from step 6');
    expect(resumed.stdout).toContain('done: step 9/9');

    const row = (k: number) => Array.from({ length: 12 * 24 }, (_, i) => ((i + k) % 5 === 0 ? 1 : 0)).join(',');
    for (const extra of [[], ['--beam', '3']]) {
      const inferred = await attend(['infer', out, row(0), row(1), ...extra]);
      expect(inferred.stderr).toBe('');
      const captions = inferred.stdout.replace(/\n$/, '').split('\n');
      expect(captions).toHaveLength(2);
      for (const c of captions) expect(c).toMatch(WORDS);
    }

    const exported = join(dir, 'export');
    const e = await attend(['export', out, '--out', exported]);
    expect(e.stderr).toBe('');
    for (const file of ['onnx/encoder_model.onnx', 'onnx/decoder_model_merged.onnx', 'config.json', 'preprocessor_config.json', 'tokenizer.json']) expect(existsSync(join(exported, file)), file).toBe(true);
    const parity = Number(/logit = ([0-9.e+-]+) on 3 images/.exec(e.stdout)?.[1]);
    expect(parity).toBeLessThanOrEqual(1e-4);
  }, 240_000);

  it('--captioner transformer with another --preset is a usage error naming the flag', async () => {
    const r = await attend(['train', '--task', 'digit-scenes', '--digits-csv', digits, '--captioner', 'transformer', '--preset', 'image-captioner', '--out', join(dir, 'never')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--captioner: transformer is the vision-encoder-decoder preset, not image-captioner');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });
});
