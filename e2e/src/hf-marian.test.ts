// `attend import` of a Marian (MarianMTModel) checkpoint against PyTorch: small random
// checkpoints written by e2e/hf-reference/hf_reference.py (`make marian`) are imported with the
// CLI; the teacher-forced logits under tfjs, and under onnxruntime-node and onnxruntime-web
// after export, equal the script's float64 reference (written from modeling_marian.py) to 1e-4
// on right-padded batches; greedy decoding of the exported folder (encoder_model +
// decoder_model_merged, through the library and through `attend translate`) gives the
// reference's greedy ids, and transformers.js's generate on that folder agrees. Needs python3
// with torch: skipped, saying so, without.

import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { AutoModelForSeq2SeqLM, AutoTokenizer, env, type Tensor } from '@huggingface/transformers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encoderInputIds, tokenizerFromJSON } from '@attend/core';
import { readCheckpointFolder } from '@attend/core/node';
import { loadCheckpoint, setupBackend } from '@attend/transformer';
import { asSession, exportCheckpointFiles, Seq2SeqForwardSession, translate, type OnnxModel } from '@attend/runtime-onnx';
import { createOnnxModel as createNodeModel, openExport } from '@attend/runtime-onnx/node';
import { createOnnxModel as createWebModel } from '@attend/runtime-onnx/web';
import { attend, flat, python, torchMissing as missingTorch } from './hf-reference.js';

const TOLERANCE = 1e-4;
const MAX_NEW_TOKENS = 8;
const torchMissing = missingTorch('hf-marian.test.ts');

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attend-hf-marian-'));
  await setupBackend();
  env.allowRemoteModels = false;
  env.localModelPath = dir;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Right-padded rows [B, T] (pad `fill`) with their lengths. */
function padded(rows: number[][], fill: number) {
  const B = rows.length;
  const T = Math.max(...rows.map((r) => r.length));
  const ids = new Int32Array(B * T).fill(fill);
  const mask = new Int32Array(B * T);
  rows.forEach((r, b) => r.forEach((id, t) => ((ids[b * T + t] = id), (mask[b * T + t] = 1))));
  return { ids, mask, batchSize: B, seqLen: T, lengths: Int32Array.from(rows, (r) => r.length) };
}

/** Largest |a − b| over each row's valid decoder positions of logits [B, T, V]. */
function maxDiff(got: ArrayLike<number>, T: number, V: number, reference: number[][][]): number {
  let worst = 0;
  reference.forEach((row, b) => {
    const ref = flat(row);
    for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(got[b * T * V + i]! - ref[i]!));
  });
  return worst;
}

const CASES = [
  { name: 'model. prefix, tied head, computed positions', folder: 'tied', flags: ['--seed', '2'] },
  { name: 'no prefix, stored position tables, separate lm_head', folder: 'untied', flags: ['--no-prefix', '--stored-positions', '--untied', '--seed', '3'] },
];

describe.skipIf(torchMissing)('attend import of a Marian model equals the PyTorch reference', () => {
  it.each(CASES)('$name: teacher-forced logits through tfjs, onnxruntime-node and -web within 1e-4; greedy translations equal (library, CLI, transformers.js)', async ({ folder, flags }) => {
    // Folder names transformers.js takes as model ids (no "--").
    const hf = join(dir, `marian-${folder}`);
    const ckpt = `${hf}-attend`;
    await python(['make', 'marian', hf, ...flags]);
    const imported = await attend(['import', hf, '--out', ckpt]);
    expect(imported.stderr).toBe('');
    expect(imported.code).toBe(0);
    expect(imported.stdout).toContain(': encoder-decoder checkpoint');
    const config = JSON.parse(await readFile(join(ckpt, 'config.json'), 'utf8')) as { positional: string; activation: string; logitsBias: boolean; bosTokenId: number; padTokenId: number; vocabSize: number };
    expect(config).toMatchObject({ positional: 'sinusoidal_split', activation: 'swish', logitsBias: true });
    expect(config.bosTokenId).toBe(config.padTokenId); // Marian's decoder starts from the pad token
    const tokenizer = tokenizerFromJSON(JSON.parse(await readFile(join(ckpt, 'tokenizer.json'), 'utf8')));
    const texts = ['the cat sat on the mat', 'a dog', 'le chat sur'];
    const sources = texts.map((t) => encoderInputIds(tokenizer, t));
    expect(sources.map((s) => s.at(-1))).toEqual([0, 0, 0]); // </s> closes each source, as Marian's tokenizer does

    const V = config.vocabSize;
    const start = config.bosTokenId;
    const targets = [[start, 5, 9, 3, 14], [start], [start, 20, 21]];
    const reference = JSON.parse(await python(['logits', hf, JSON.stringify({ input_ids: sources, decoder_input_ids: targets })])) as number[][][];
    const src = padded(sources, config.padTokenId);
    const tgt = padded(targets, config.padTokenId);

    const { model } = await loadCheckpoint(ckpt);
    const result = model.forward(src, tgt);
    const tfjs = result.logits.dataSync();
    result.logits.dispose();
    model.dispose();
    expect(maxDiff(tfjs, tgt.seqLen, V, reference), 'tfjs').toBeLessThanOrEqual(TOLERANCE);

    const graph = exportCheckpointFiles(await readCheckpointFolder(ckpt), { dir: ckpt });
    for (const [runtime, session] of [['node', await createNodeModel(graph)], ['web', await createWebModel(graph, { numThreads: 1 })]] as const) {
      const out = await asSession(session, Seq2SeqForwardSession).run({
        inputIds: { data: src.ids, batchSize: src.batchSize, seqLen: src.seqLen },
        attentionMask: { data: src.mask, batchSize: src.batchSize, seqLen: src.seqLen },
        decoderInputIds: { data: tgt.ids, batchSize: tgt.batchSize, seqLen: tgt.seqLen },
        decoderAttentionMask: { data: tgt.mask, batchSize: tgt.batchSize, seqLen: tgt.seqLen },
      });
      expect(maxDiff(out.logits.data, tgt.seqLen, V, reference), runtime).toBeLessThanOrEqual(TOLERANCE);
      await session.release();
    }

    // Greedy decoding of the export folder: the reference's ids, through the library (node and web) and the CLI.
    const greedy = JSON.parse(await python(['greedy', hf, JSON.stringify(sources), String(MAX_NEW_TOKENS)])) as number[][];
    expect(greedy.some((ids) => ids.length > 0)).toBe(true);
    const out = `${ckpt}-onnx`;
    const exported = await attend(['export', ckpt, '--out', out]);
    expect(exported.code, exported.stderr).toBe(0);
    for (const device of ['cpu', 'wasm'] as const) {
      const opened = await openExport(out, { device });
      try {
        const sessions = opened.sessions as { encoder: OnnxModel; decoder: OnnxModel };
        expect(await translate(sessions, src, { maxNewTokens: MAX_NEW_TOKENS }), device).toEqual(greedy);
      } finally {
        await opened.release();
      }
    }
    const cli = await attend(['translate', out, ...texts, '--max-new-tokens', String(MAX_NEW_TOKENS), '--json']);
    expect(cli.code, cli.stderr).toBe(0);
    const outputs = (JSON.parse(cli.stdout) as { results: { output: string }[] }).results.map((r) => r.output);
    expect(outputs).toEqual(greedy.map((ids) => tokenizer.decode(ids)));

    // transformers.js on the same folder: its tokenizer gives attend's source ids, and its greedy
    // generate the reference's ids after the decoder start, with eos forced at the last step
    // (forced_eos_token_id, as Marian's generation config asks) when the limit is reached.
    const tjsTokenizer = await AutoTokenizer.from_pretrained(basename(out));
    const s2s = await AutoModelForSeq2SeqLM.from_pretrained(basename(out), { dtype: 'fp32', device: 'cpu' });
    try {
      for (const [i, text] of texts.entries()) {
        const encoded = tjsTokenizer(text) as { input_ids: Tensor; attention_mask: Tensor };
        expect(Array.from(encoded.input_ids.data as BigInt64Array, Number)).toEqual(sources[i]);
        const generated = (await s2s.generate({ ...encoded, max_new_tokens: MAX_NEW_TOKENS, do_sample: false, num_beams: 1 })) as Tensor;
        const ids = greedy[i]!;
        const expected = ids.length === MAX_NEW_TOKENS ? [start, ...ids.slice(0, -1), 0] : [start, ...ids, 0];
        expect(Array.from(generated.data as BigInt64Array, Number), `transformers.js: ${text}`).toEqual(expected);
      }
    } finally {
      await s2s.dispose();
    }
  }, 180_000);
});
