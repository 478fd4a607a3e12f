#!/usr/bin/env node
// What quantization costs a trained decoder-lm (issue 19 §3): export folders of the same
// checkpoint (fp32 first, then e.g. --quantize int8-dynamic and int4) scored on one text, on
// onnxruntime-node's CPU. For each: perplexity over non-overlapping windows of the model's
// context (every token but the first predicted once, as `attend eval --text` scores it), top-1
// agreement with the first folder's next-token prediction at every position, and the size of
// its graph files (onnx/). Writes bench/results/NAME.{json,md} (default NAME quantize-quality).
//
//   node packages/cli/bench/quantize-quality.mjs --text val.txt FP32_DIR INT8_DIR INT4_DIR [--out NAME]

import { mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { nllFromLogits, perplexity } from '@attend/core';
import { openModel } from '../dist/runner.js';

const argv = process.argv.slice(2);
const option = (name) => {
  const i = argv.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const [, value] = argv.splice(i, 2);
  return value;
};
const textPath = option('text');
const name = option('out') ?? 'quantize-quality';
const dirs = argv;
if (!textPath || dirs.length < 2) {
  console.error('usage: quantize-quality.mjs --text FILE FP32_DIR QUANTIZED_DIR... [--out NAME]');
  process.exit(2);
}
const BATCH = 32;
const repoRoot = resolve(fileURLToPath(import.meta.url), '../../../..');

const runners = [];
for (const dir of dirs) runners.push(await openModel(dir));
const { maxSeqLen: T, vocabSize: V } = runners[0].config;
const ids = runners[0].tokenizer.encode(readFileSync(textPath, 'utf8'));
const windows = Math.floor((ids.length - 1) / T);

const argmaxRows = (logits) => {
  const out = new Int32Array(logits.length / V);
  for (let r = 0; r < out.length; r++) {
    let best = 0;
    for (let i = 1; i < V; i++) if (logits[r * V + i] > logits[r * V + best]) best = i;
    out[r] = best;
  }
  return out;
};

/** Bytes of the folder's graphs (its onnx/ files). */
const graphBytes = (dir) => readdirSync(join(dir, 'onnx')).reduce((sum, f) => sum + statSync(join(dir, 'onnx', f)).size, 0);
const results = runners.map((r, i) => ({ folder: basename(dirs[i]), bytes: graphBytes(dirs[i]), nll: 0, tokens: 0, same: 0, seconds: 0 }));
for (let w0 = 0; w0 < windows; w0 += BATCH) {
  const rows = Math.min(BATCH, windows - w0);
  const input = new Int32Array(rows * T);
  const labels = new Int32Array(rows * T);
  for (let b = 0; b < rows; b++) {
    input.set(ids.slice((w0 + b) * T, (w0 + b + 1) * T), b * T);
    labels.set(ids.slice((w0 + b) * T + 1, (w0 + b + 1) * T + 1), b * T);
  }
  let reference;
  for (const [i, runner] of runners.entries()) {
    const start = performance.now();
    const logits = await runner.lmLogits(input, rows, T);
    results[i].seconds += (performance.now() - start) / 1000;
    const scored = nllFromLogits(logits, labels, { vocabSize: V });
    results[i].nll += scored.sum;
    results[i].tokens += scored.count;
    const top = argmaxRows(logits);
    reference ??= top;
    for (let p = 0; p < top.length; p++) if (top[p] === reference[p]) results[i].same++;
  }
}

const report = {
  date: new Date().toISOString(),
  text: basename(textPath),
  windows,
  windowTokens: T,
  loadAverage: loadavg()[0],
  runs: results.map((r) => ({
    folder: r.folder,
    bytes: r.bytes,
    perplexity: perplexity(r.nll / r.tokens),
    meanNll: r.nll / r.tokens,
    top1Agreement: r.same / r.tokens,
    seconds: r.seconds,
  })),
};
const base = report.runs[0];
const table = [
  `| export | onnx/ | perplexity | change | top-1 agreement with ${base.folder} |`,
  '| --- | ---: | ---: | ---: | ---: |',
  ...report.runs.map((r) => `| ${r.folder} | ${(r.bytes / 2 ** 20).toFixed(2)} MiB | ${r.perplexity.toFixed(4)} | ${(100 * (r.perplexity / base.perplexity - 1)).toFixed(2)}% | ${(100 * r.top1Agreement).toFixed(2)}% |`),
].join('\n');
console.log(table);
mkdirSync(join(repoRoot, 'bench/results'), { recursive: true });
writeFileSync(join(repoRoot, 'bench/results', `${name}.json`), `${JSON.stringify(report, null, 2)}\n`);
writeFileSync(
  join(repoRoot, 'bench/results', `${name}.md`),
  `# Quantization quality on ${report.text}\n\n${windows} windows of ${T} tokens, onnxruntime-node CPU, ${report.date}.\n\n${table}\n`,
);
