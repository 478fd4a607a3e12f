// Drives the built binary (dist/bin.js) as a subprocess, as a user would: tiny train → export →
// infer runs of each preset (seq2seq, classifier, LM, vision Transformer), streamed generation, attention figures,
// bench and inspect, config-file and usage errors with their exit codes, missing and corrupt
// inputs, and resume after Ctrl-C.

import { spawn } from 'node:child_process';
import { cp, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const TINY = ['--d-model', '32', '--heads', '2', '--layers', '1', '--batch-size', '32', '--lr', '0.005', '--examples', '600', '--dev-size', '20'];
/** TINY for rnn-seq2seq, which has no attention heads to set. */
const TINY_RNN = TINY.filter((_, i, all) => all[i] !== '--heads' && all[i - 1] !== '--heads');

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs `attend args…`; `onStdout` sees the output so far and may signal the process. */
function attend(args: string[], options: { input?: string; onStdout?: (text: string, child: ReturnType<typeof spawn>) => void } = {}): Promise<Run & { chunks: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let chunks = 0;
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      chunks++;
      options.onStdout?.(stdout, child);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, chunks }));
    child.stdin.end(options.input ?? '');
  });
}

let dir: string;
let checkpoint: string;
let folder: string;

beforeAll(async () => {
  await stat(BIN).catch(() => {
    throw new Error(`${BIN} is missing: build the package first (pnpm --filter @attend/cli build)`);
  });
  dir = await mkdtemp(join(tmpdir(), 'attend-cli-'));
  checkpoint = join(dir, 'ckpt');
  folder = join(dir, 'onnx');
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('attend train → export → translate → inspect', () => {
  it('trains a tiny copy model for 60 steps with eval lines and a checkpoint', async () => {
    const r = await attend(['train', '--task', 'copy', '--steps', '60', '--eval-every', '30', '--out', checkpoint, ...TINY]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/eval @ step 30: dev exact match \d+\.\d\d%/);
    expect(r.stdout).toContain(`done: step 60/60 (completed); checkpoint saved in ${checkpoint}`);
    const state = JSON.parse(await readFile(join(checkpoint, 'trainer_state.json'), 'utf8')) as { step: number };
    expect(state.step).toBe(60);
    expect(r.stdout).toContain(`loss curve: ${join(checkpoint, 'loss.svg')}`);
    const svg = await readFile(join(checkpoint, 'loss.svg'), 'utf8');
    expect(svg).toMatch(/^<svg /);
    expect(svg).toContain('cross-entropy loss');
  });

  it('exports the checkpoint and lists the files with sizes', async () => {
    const r = await attend(['export', checkpoint, '--out', folder]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/onnx\/encoder_model\.onnx\s+[\d.]+ kB/);
    expect(r.stdout).toMatch(/onnx\/decoder_model_merged\.onnx\s+[\d.]+ kB/);
    expect((await stat(join(folder, 'onnx', 'decoder_model_merged.onnx'))).size).toBeGreaterThan(10_000);
    const parity = Number(/parity: max \|tfjs − onnxruntime-node\| logit = (\S+) on 3 inputs/.exec(r.stdout)?.[1]);
    expect(parity).toBeLessThan(1e-4);
  });

  it('translates with onnxruntime (arguments, --json) as tfjs does with the checkpoint (stdin)', async () => {
    const inputs = ['abcde', 'hello'];
    const ort = await attend(['translate', folder, ...inputs, '--json']);
    expect(ort.code).toBe(0);
    const parsed = JSON.parse(ort.stdout) as { runtime: string; results: { input: string; output: string }[] };
    expect(parsed.runtime).toMatch(/^onnxruntime-node \(cpu/);
    expect(parsed.results.map((x) => x.input)).toEqual(inputs);
    const tfjs = await attend(['translate', checkpoint], { input: inputs.join('\n') + '\n' });
    expect(tfjs.code).toBe(0);
    expect(tfjs.stdout.trimEnd().split('\n')).toEqual(parsed.results.map((x) => x.output));
    const infer = await attend(['infer', folder, ...inputs, '--device', 'wasm']);
    expect(infer.code).toBe(0);
    expect(infer.stdout.trimEnd().split('\n')).toEqual(parsed.results.map((x) => x.output));
    const beam = await attend(['translate', folder, '--beam', '3', ...inputs]);
    expect(beam.code).toBe(0);
    expect(beam.stdout.trimEnd().split('\n')).toHaveLength(2);
  });

  it('inspects the checkpoint (parameters per module) and the folder (ONNX inputs/outputs)', async () => {
    const c = await attend(['inspect', checkpoint]);
    expect(c.code).toBe(0);
    expect(c.stdout).toMatch(/encoder\.layers\.0\.self_attn\s+4,224/);
    expect(c.stdout).toMatch(/total\s+30,784/);
    const f = await attend(['inspect', folder]);
    expect(f.code).toBe(0);
    expect(f.stdout).toContain('inputs:  input_ids, attention_mask');
    expect(f.stdout).toContain('use_cache_branch');
    // 1 layer, d 32, dFf 128, context 32 (maxSeqLen), vocab 30: attention 8·32² + 4·32·32 = 12,288
    expect(f.stdout).toMatch(/decoder\.layers\.0\.encoder_attn\s+12\.29 k/);
    expect(f.stdout).toMatch(/onnx\/encoder_model\.onnx: seq2seq-encoder graph, [\d.]+ kB, opset ai\.onnx 17/);
  });

  it('draws the cross-attention of an input with its tokens on both axes, from a --with-attention export', async () => {
    const attnExport = join(dir, 'onnx-attn');
    expect((await attend(['export', checkpoint, '--out', attnExport, '--with-attention'])).code).toBe(0);
    const out = join(dir, 'figures');
    const r = await attend(['attention', attnExport, 'hello', '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const output = /^output: (.*)$/m.exec(r.stdout)![1]!;
    expect(r.stdout).toContain('cross-attention (output × source), layer 0, mean of the heads');
    expect(r.stdout).toMatch(/^ {5}h e l l o $/m); // key tokens over the shaded columns
    expect(r.stdout).toContain(`wrote ${join(out, 'attention-cross.svg')} (1 layers × 2 heads, ${output.length + 1}×5)`);
    const svg = await readFile(join(out, 'attention-cross.svg'), 'utf8');
    expect(svg).toContain('source token');
    expect(svg).toContain('output token');
    expect(svg).toContain('layer 0 · head 1');
    const labels = [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]);
    for (const token of ['h', 'e', 'l', 'o', '&lt;/s&gt;']) expect(labels).toContain(token);
    const fromCheckpoint = await attend(['attention', checkpoint, 'hello', '--out', join(dir, 'figures-tfjs'), '--quiet']);
    expect(fromCheckpoint.stdout).toContain(`output: ${output}`);
    const noAttention = await attend(['attention', folder, 'hello', '--out', out]);
    expect(noAttention.code).toBe(1);
    expect(noAttention.stderr).toMatch(/^attend: .*export it with --with-attention, or pass the checkpoint\n$/);
  });
});

describe('attend train → export → infer for the classifier and the LM', () => {
  it('classifies majority with the checkpoint, onnxruntime-node and onnxruntime-web alike', async () => {
    const ckpt = join(dir, 'majority');
    const onnx = join(dir, 'majority-onnx');
    const r = await attend(['train', '--task', 'majority', '--steps', '40', '--eval-every', '20', '--out', ckpt, ...TINY]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('training encoder-classifier');
    expect(r.stdout).toMatch(/eval @ step 20: dev accuracy \d+\.\d\d%/);
    const e = await attend(['export', ckpt, '--out', onnx]);
    expect(e.code).toBe(0);
    expect(e.stdout).toMatch(/onnx\/model\.onnx\s+[\d.]+ kB/);
    const inputs = ['abbab', 'aab', 'bbbaa'];
    const ort = JSON.parse((await attend(['infer', onnx, ...inputs, '--json'])).stdout) as { preset: string; results: { input: string; output: number; probabilities: number[] }[] };
    expect(ort.preset).toBe('encoder-classifier');
    expect(ort.results.map((x) => x.input)).toEqual(inputs);
    for (const x of ort.results) {
      expect(x.probabilities).toHaveLength(2);
      expect(x.probabilities[0]! + x.probabilities[1]!).toBeCloseTo(1, 4);
      expect(x.output).toBe(x.probabilities[1]! > x.probabilities[0]! ? 1 : 0);
    }
    const labels = ort.results.map((x) => String(x.output));
    for (const args of [[ckpt], [onnx, '--device', 'wasm']]) {
      const other = await attend(['infer', ...args, ...inputs]);
      expect(other.code).toBe(0);
      expect(other.stdout.trimEnd().split('\n').map((line) => line.split('\t')[0])).toEqual(labels);
    }
    const bench = await attend(['bench', onnx, '--seconds', '0.05']);
    expect(bench.code).toBe(0);
    for (const runtime of ['onnxruntime-node cpu, 1 thread', 'onnxruntime-node cpu, 2 threads', 'onnxruntime-web wasm']) expect(bench.stdout).toMatch(new RegExp(`${runtime}\\s+│\\s+\\d+\\.\\d{3} │`));
    const gen = await attend(['generate', onnx, 'ab']);
    expect(gen.code).toBe(1);
    expect(gen.stderr).toBe(`attend: ${onnx}: an encoder-classifier model; generate needs a decoder-lm (use attend infer)\n`);
  });

  it('trains a character LM on --text and streams the same greedy continuation from tfjs and onnxruntime', async () => {
    const text = join(dir, 'text.txt');
    await writeFile(text, 'the cat sat on the mat. '.repeat(200));
    const ckpt = join(dir, 'lm');
    const onnx = join(dir, 'lm-onnx');
    const r = await attend(['train', '--text', text, '--context-length', '32', '--steps', '30', '--eval-every', '30', '--out', ckpt, ...TINY]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/eval @ step 30: dev loss \d+\.\d{4} \(perplexity \d+\.\d\d\)/);
    expect((await attend(['export', ckpt, '--out', onnx])).code).toBe(0);
    const streamed = await attend(['generate', ckpt, 'the cat', '--max-tokens', '24']);
    expect(streamed.code).toBe(0);
    expect(streamed.stdout).toMatch(/^the cat.+\n$/); // special tokens among the 24 would print nothing
    expect(streamed.chunks).toBeGreaterThan(1); // the prompt and tokens arrive while tfjs is still generating
    const ort = await attend(['generate', onnx, 'the cat', '--max-tokens', '24']);
    expect(ort.stdout).toBe(streamed.stdout);
    const infer = await attend(['infer', onnx, 'the cat', '--max-tokens', '24', '--json']);
    expect(JSON.parse(infer.stdout).results).toEqual([{ input: 'the cat', output: streamed.stdout.slice('the cat'.length, -1), finishReason: expect.stringMatching(/^(eos|length)$/) }]);
    const sampled = await attend(['generate', onnx, 'the', '--sample', '--temperature', '0.8', '--seed', '3', '--max-tokens', '8', '--device', 'wasm']);
    expect(sampled.code).toBe(0);
    expect(sampled.stdout).toMatch(/^the.*\n$/);
    expect(sampled.stdout.length).toBeLessThanOrEqual('the'.length + 8 + 1);
  });
});

describe('attend train --tokenizer', () => {
  it('trains an LM with a 300-token byte-level BPE learned on its text, saved with the checkpoint, and infers from checkpoint and export alike', async () => {
    const text = join(dir, 'bpe.txt');
    await writeFile(text, 'the quick brown fox jumps over the lazy dog; a cat sat on the mat and watched the fox. '.repeat(60) + 'ünïcödé 東京 🙂 ');
    const ckpt = join(dir, 'lm-bpe');
    const onnx = join(dir, 'lm-bpe-onnx');
    const r = await attend(['train', '--text', text, '--tokenizer', 'bpe', '--vocab-size', '300', '--context-length', '16', '--steps', '10', '--eval-every', '10', '--out', ckpt, ...TINY]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const saved = JSON.parse(await readFile(join(ckpt, 'tokenizer.json'), 'utf8')) as { model: { type: string; vocab: object; merges: string[] } };
    expect(saved.model.type).toBe('BPE');
    expect(Object.keys(saved.model.vocab)).toHaveLength(300);
    expect(saved.model.merges).toHaveLength(300 - 260);
    expect((JSON.parse(await readFile(join(ckpt, 'config.json'), 'utf8')) as { vocabSize: number }).vocabSize).toBe(300);
    const fromCheckpoint = await attend(['infer', ckpt, 'the fox 東', '--max-tokens', '6', '--json']);
    expect(fromCheckpoint.code).toBe(0);
    expect((await attend(['export', ckpt, '--out', onnx])).code).toBe(0);
    const fromExport = await attend(['infer', onnx, 'the fox 東', '--max-tokens', '6', '--json']);
    expect(fromExport.code).toBe(0);
    expect(JSON.parse(fromExport.stdout).results).toEqual(JSON.parse(fromCheckpoint.stdout).results);
    const resumed = await attend(['train', '--text', text, '--tokenizer', 'char', '--resume', '--steps', '12', '--out', ckpt, ...TINY]);
    expect(resumed.code).toBe(2);
    expect(resumed.stderr).toBe(`attend: --tokenizer: char differs from the bpe tokenizer of the checkpoint in ${ckpt} (a resumed run keeps its tokenizer)\n`);
  });

  it('refuses --vocab-size without a kind that takes it, or below its minimum, before anything is written', async () => {
    const text = join(dir, 'bpe.txt');
    const cases: [string[], string][] = [
      [['--vocab-size', '300'], '--vocab-size: applies to --tokenizer word or bpe (a char tokenizer keeps every character of the data)'],
      [['--tokenizer', 'bpe', '--vocab-size', '259'], '--vocab-size: 259 is too small for --tokenizer bpe; at least 260 (4 special tokens + 256 bytes)'],
      [['--tokenizer', 'word', '--vocab-size', '4'], '--vocab-size: 4 is too small for --tokenizer word; at least 5 (4 special tokens + 1 word)'],
    ];
    for (const [flags, message] of cases) {
      const out = join(dir, 'never');
      const r = await attend(['train', '--text', text, ...flags, '--out', out]);
      expect(r.code).toBe(2);
      expect(r.stderr).toBe(`attend: ${message}\n`);
      await expect(stat(out)).rejects.toThrow();
    }
  });
});

describe('attend train --csv', () => {
  it('trains a classifier on text,label rows and names the line of a bad row', async () => {
    const csv = join(dir, 'reviews.csv');
    const rows = ['text,label', '"good, really good",1', 'bad,0', '"not ""good""",0', 'great,1', 'awful,0', 'fine,1'];
    await writeFile(csv, rows.join('\n') + '\n');
    const ok = await attend(['train', '--csv', csv, '--steps', '4', '--eval-every', '4', '--dev-size', '2', '--out', join(dir, 'reviews'), ...TINY.slice(0, 8)]);
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain(`training encoder-classifier`);
    expect(ok.stdout).toMatch(/^ {2}data {6}5 examples, dev 1$/m);
    const saved = JSON.parse(await readFile(join(dir, 'reviews', 'config.json'), 'utf8')) as { numClasses: number };
    expect(saved.numClasses).toBe(2);
    await writeFile(csv, 'good,1\nbad,negative\n');
    const bad = await attend(['train', '--csv', csv, '--out', join(dir, 'reviews-bad')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(`attend: ${csv}: line 2: label must be a class id 0, 1, …, got "negative"\n`);
  });
});

describe('attend train --config', () => {
  it('names the file and the field of a bad setting, and lets flags override the file', async () => {
    const config = join(dir, 'config.json');
    await writeFile(config, JSON.stringify({ dModel: 64, numHeads: 5 }));
    const bad = await attend(['train', '--task', 'copy', '--config', config, '--out', join(dir, 'x')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(`attend: ${config}: numHeads: 5 does not divide dModel 64\n`);
    const flag = await attend(['train', '--task', 'copy', '--config', config, '--heads', '3', '--out', join(dir, 'x')]);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toBe('attend: --heads: 3 does not divide dModel 64\n');
    await writeFile(config, JSON.stringify({ dModle: 64 }));
    expect((await attend(['train', '--task', 'copy', '--config', config, '--out', join(dir, 'x')])).stderr).toBe(`attend: ${config}: dModle: unknown setting; did you mean 'dModel'?\n`);
    await writeFile(config, JSON.stringify({ positional: 'spiral' }));
    expect((await attend(['train', '--task', 'copy', '--config', config, '--out', join(dir, 'x')])).stderr).toBe(
      `attend: ${config}: positional: "spiral" is not allowed; expected one of sinusoidal, sinusoidal_split, learned, rope, alibi\n`,
    );
    await writeFile(config, JSON.stringify({ dModel: 16, numHeads: 2, dFf: 24, steps: 3, evalEvery: 3, layers: 1, examples: 100 }));
    const ok = await attend(['train', '--task', 'copy', '--config', config, '--steps', '2', '--out', join(dir, 'from-config')]);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('done: step 2/2');
    const saved = JSON.parse(await readFile(join(dir, 'from-config', 'config.json'), 'utf8')) as Record<string, unknown>;
    expect(saved).toMatchObject({ dModel: 16, numHeads: 2, dFf: 24, numEncoderLayers: 1, numDecoderLayers: 1 });
  });
});

describe('attend train --preset rnn-seq2seq', () => {
  it('trains an LSTM encoder–decoder (--rnn-cell lstm), exports it and translates the export as the checkpoint does', async () => {
    const out = join(dir, 'lstm');
    const r = await attend(['train', '--task', 'copy', '--preset', 'rnn-seq2seq', '--rnn-cell', 'lstm', '--rnn-attention', 'general', '--steps', '10', '--eval-every', '10', '--out', out, ...TINY_RNN]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(await readFile(join(out, 'config.json'), 'utf8'))).toMatchObject({ rnnCell: 'lstm', rnnAttention: 'general' });
    const onnx = join(dir, 'lstm-onnx');
    const e = await attend(['export', out, '--out', onnx]);
    expect(e.code).toBe(0);
    expect(Number(/logit = (\S+) on 3 inputs/.exec(e.stdout)?.[1])).toBeLessThan(1e-4);
    const inputs = ['abc', 'hello'];
    const tfjs = await attend(['infer', out, '--beam', '2', ...inputs]);
    const ort = await attend(['infer', onnx, '--beam', '2', ...inputs]);
    expect(ort.code).toBe(0);
    expect(ort.stdout).toBe(tfjs.stdout);
    const heads = await attend(['train', '--task', 'copy', '--preset', 'rnn-seq2seq', '--heads', '2', '--out', join(dir, 'x')]);
    expect(heads.stderr).toBe("attend: --heads: preset 'rnn-seq2seq' has no such setting\n");
    expect(heads.code).toBe(2);
    const typo = await attend(['train', '--task', 'copy', '--preset', 'rnn-seq2seq', '--rnn-cell', 'lsmt', '--out', join(dir, 'x')]);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/^attend: option '--rnn-cell <cell>' argument 'lsmt' is invalid\. Allowed choices are gru, lstm\.\n$/);
  });

  it('trains a GRU encoder–decoder with additive attention, translates with the checkpoint, draws its attention, exports it and translates the export as the checkpoint does', async () => {
    const out = join(dir, 'gru');
    const r = await attend(['train', '--task', 'copy', '--preset', 'rnn-seq2seq', '--rnn-attention', 'additive', '--steps', '20', '--eval-every', '20', '--out', out, ...TINY_RNN]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('training rnn-seq2seq');
    const config = JSON.parse(await readFile(join(out, 'config.json'), 'utf8')) as { preset: string; rnnAttention: string };
    expect(config).toMatchObject({ preset: 'rnn-seq2seq', rnnAttention: 'additive' });
    const t = await attend(['translate', out, 'abc', 'hello']);
    expect(t.code).toBe(0);
    expect(t.stdout.trimEnd().split('\n')).toHaveLength(2);
    const a = await attend(['attention', out, 'abc', '--out', join(dir, 'gru-attention')]);
    expect(a.code).toBe(0);
    expect(await readFile(join(dir, 'gru-attention', 'attention-cross.svg'), 'utf8')).toContain('additive attention');
    const onnx = join(dir, 'gru-onnx');
    const e = await attend(['export', out, '--out', onnx]);
    expect(e.stderr).toBe('');
    expect(e.code).toBe(0);
    expect(e.stdout).toMatch(/onnx\/rnn_encoder\.onnx\s+[\d.]+ kB/);
    expect(e.stdout).toMatch(/onnx\/rnn_decoder_step\.onnx\s+[\d.]+ kB/);
    const parity = Number(/parity: max \|tfjs − onnxruntime-node\| logit = (\S+) on 3 inputs/.exec(e.stdout)?.[1]);
    expect(parity).toBeLessThan(1e-4);
    expect(JSON.parse(await readFile(join(onnx, 'config.json'), 'utf8'))).toMatchObject({ model_type: 'attend-rnn-seq2seq', attend: { preset: 'rnn-seq2seq', rnnAttention: 'additive' } });
    const inputs = ['abc', 'hello', 'a'];
    for (const strategy of [[], ['--beam', '3']]) {
      const tfjs = await attend(['infer', out, ...strategy, ...inputs]);
      expect(tfjs.code).toBe(0);
      const ort = await attend(['infer', onnx, ...strategy, ...inputs, '--json']);
      expect(ort.code).toBe(0);
      const parsed = JSON.parse(ort.stdout) as { runtime: string; results: { output: string; finishReason: string }[] };
      // A note on stderr for each translation the decoder's context stopped, as on tfjs; nothing else.
      const notes = parsed.results.flatMap((x, i) => (x.finishReason === 'context' ? [`attend: input ${i + 1} stopped at the model's context of 32 tokens\n`] : []));
      expect(ort.stderr).toBe(notes.join(''));
      expect(tfjs.stderr).toBe(ort.stderr);
      expect(parsed.runtime).toMatch(/^onnxruntime-node \(cpu/);
      expect(parsed.results.map((x) => x.output)).toEqual(tfjs.stdout.trimEnd().split('\n'));
    }
    const ae = await attend(['attention', onnx, 'abc', '--out', join(dir, 'gru-onnx-attention')]);
    expect(ae.stderr).toBe('');
    expect(ae.code).toBe(0);
    expect(ae.stdout.split('\n')[0]).toBe(a.stdout.split('\n')[0]); // "output: …", the same translation
    expect(await readFile(join(dir, 'gru-onnx-attention', 'attention-cross.svg'), 'utf8')).toContain('additive attention');
    const i = await attend(['inspect', onnx]);
    expect(i.code).toBe(0);
    expect(i.stdout).toMatch(/onnx\/rnn_decoder_step\.onnx: rnn-seq2seq-decoder graph/);
    expect(i.stdout).toMatch(/onnx\/rnn_encoder\.onnx: rnn-seq2seq-encoder graph/);
    expect(i.stdout).toMatch(/decoder\.rnn\.l0\s+18\.43 k/); // 2 · 3 · 32 · (64 + 32): the cell reads [e_t; c_t]
    const bench = await attend(['bench', onnx, '--seconds', '0.05']);
    expect(bench.code).toBe(0);
    for (const runtime of ['onnxruntime-node cpu, 1 thread', 'onnxruntime-web wasm']) expect(bench.stdout).toMatch(new RegExp(`${runtime}\\s+│\\s+\\d+\\.\\d{3} │.*│\\s+\\d+\\.\\d{3} │\\s+[\\d,]+ │$`, 'm'));
    // The throughput names what it counts: both sides of the GRU encoder–decoder's forward, and generated target tokens.
    expect(bench.stdout).toMatch(/│ source \+ target tokens\/s │ decode ms\/token \(KV cache\) │ generated target tokens\/s │/);
    const trainBench = await attend(['bench', out, '--train-steps', '2', '--seconds', '0.05']);
    expect(trainBench.code).toBe(0);
    expect(trainBench.stdout).toMatch(/training, batch 16 × \d+ tokens/);
  });
});

describe('attend train --images (vit-classifier) → export → infer, attention, bench', () => {
  // 8×8 single-channel images, values 0 … 200: the class is the brightest quadrant.
  function images(count: number, seed: number): string[] {
    let state = seed;
    const next = () => ((state = (state * 1103515245 + 12345) % 2147483648) / 2147483648);
    return Array.from({ length: count }, () => {
      const label = Math.floor(next() * 4);
      const pixels = Array.from({ length: 64 }, (_, i) => {
        const quadrant = 2 * Math.floor(i / 32) + Math.floor((i % 8) / 4);
        return Math.round(next() * 80) + (quadrant === label ? 120 : 0);
      });
      return [...pixels, label].join(',');
    });
  }

  it('trains on a CSV of pixel rows, classifies held-out images alike with tfjs, onnxruntime-node and -web, and draws the CLS attention', async () => {
    const csv = join(dir, 'images.csv');
    const header = [...Array.from({ length: 64 }, (_, i) => `p${i}`), 'label'].join(',');
    await writeFile(csv, [header, ...images(400, 1)].join('\n') + '\n');
    const test = join(dir, 'images-test.csv');
    await writeFile(test, images(30, 2).join('\n') + '\n');
    const ckpt = join(dir, 'vit');
    const r = await attend(['train', '--images', csv, '--steps', '60', '--eval-every', '30', '--out', ckpt, ...TINY]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('training vit-classifier');
    expect(r.stdout).toMatch(/^ {2}data {6}380 images, dev 20; 1×8×8 in 4×4 patches of 2×2$/m);
    expect(r.stdout).toMatch(/examples\/s/);
    expect(r.stdout).toMatch(/eval @ step 60: dev accuracy \d+\.\d\d%/);
    const config = JSON.parse(await readFile(join(ckpt, 'config.json'), 'utf8')) as Record<string, number>;
    const top = Math.max(...(await readFile(csv, 'utf8')).split('\n').slice(1).filter(Boolean).flatMap((l) => l.split(',').slice(0, 64).map(Number)));
    expect(config).toMatchObject({ preset: 'vit-classifier', imageSize: 8, patchSize: 2, numChannels: 1, numClasses: 4, pixelScale: 1 / top });
    await expect(stat(join(ckpt, 'tokenizer.json'))).rejects.toThrow();

    const tfjs = await attend(['infer', ckpt, '--file', test, '--json']);
    expect(tfjs.code).toBe(0);
    const parsed = JSON.parse(tfjs.stdout) as { preset: string; results: { output: number; expected: number; probabilities: number[] }[]; summary: { accuracy: number; total: number } };
    expect(parsed.preset).toBe('vit-classifier');
    expect(parsed.summary.total).toBe(30);
    expect(parsed.summary.accuracy).toBe(parsed.results.filter((x) => x.output === x.expected).length / 30);
    expect(parsed.summary.accuracy).toBeGreaterThan(0.8);
    const labels = parsed.results.map((x) => String(x.output));

    const onnx = join(dir, 'vit-onnx');
    const e = await attend(['export', ckpt, '--out', onnx, '--with-attention']);
    expect(e.stderr).toBe('');
    expect(e.code).toBe(0);
    for (const file of ['config.json', 'preprocessor_config.json', 'onnx/model.onnx']) expect(e.stdout).toContain(file);
    expect(e.stdout).not.toContain('tokenizer');
    expect(Number(/logit = (\S+) on 3 images/.exec(e.stdout)?.[1])).toBeLessThan(1e-4);
    for (const device of ['cpu', 'wasm']) {
      const ort = await attend(['infer', onnx, '--file', test, '--device', device]);
      expect(ort.code).toBe(0);
      expect(ort.stdout.trimEnd().split('\n').map((line) => line.split('\t')[0])).toEqual(labels);
      expect(ort.stderr).toMatch(/^accuracy: \d+\.\d\d% \(\d+\/30 images\)\n$/);
    }

    const line = images(1, 3)[0]!;
    const a = await attend(['attention', onnx, line, '--out', join(dir, 'vit-figures')]);
    expect(a.stderr).toBe('');
    expect(a.code).toBe(0);
    expect(a.stdout).toMatch(/^output: class \d \(p = [01]\.\d{3}\)$/m);
    expect(a.stdout).toContain('CLS attention over the 4×4 patch grid, layer 0, mean of the heads');
    for (const [name, size] of [['cls', '4×4'], ['rollout', '4×4'], ['self', '17×17']]) expect(a.stdout).toMatch(new RegExp(`attention-${name}\\.svg \\(.*, ${size}\\)`));
    const svg = await readFile(join(dir, 'vit-figures', 'attention-rollout.svg'), 'utf8');
    expect(svg).toContain('attention rollout of the CLS token');
    expect(svg).toContain('all 1 layers');
    const fromCheckpoint = await attend(['attention', ckpt, line, '--out', join(dir, 'vit-figures-tfjs'), '--quiet']);
    expect(fromCheckpoint.stdout.split('\n')[0]).toBe(a.stdout.split('\n')[0]);

    const bench = await attend(['bench', onnx, '--seconds', '0.05']);
    expect(bench.code).toBe(0);
    expect(bench.stdout).toContain('forward of 1 image (16 patches + CLS)');
    const inspect = await attend(['inspect', onnx]);
    expect(inspect.stdout).toMatch(/embeddings\.patch_embeddings\s+256/); // 2 · (1·2·2) · 32
    expect(inspect.stdout).toContain('inputs:  pixel_values');
  });

  it('names the line, the value or the flag at fault', async () => {
    const csv = join(dir, 'images-bad.csv');
    const rows = images(5, 4);
    rows[2] = rows[2]!.replace(/^\d+,\d+/, '0,dark');
    await writeFile(csv, rows.join('\n') + '\n');
    const bad = await attend(['train', '--images', csv, '--out', join(dir, 'vit-bad')]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toBe(`attend: ${csv}:3: column 1 is not a number: "dark"\n`);
    await writeFile(csv, images(5, 4).join('\n') + '\n');
    const channels = await attend(['train', '--images', csv, '--channels', '3', '--out', join(dir, 'vit-bad')]);
    expect(channels.code).toBe(1);
    expect(channels.stderr).toBe(`attend: ${csv}: 64 pixel values per row are not 3 channels × S × S for a square image (set --channels)\n`);
    const patch = await attend(['train', '--images', csv, '--patch-size', '3', '--out', join(dir, 'vit-bad')]);
    expect(patch.code).toBe(2);
    expect(patch.stderr).toBe('attend: --patch-size: 3 does not divide imageSize=8; choose a divisor of imageSize\n');
    const ckpt = join(dir, 'vit');
    const short = await attend(['infer', ckpt, '1,2,3']);
    expect(short.code).toBe(1);
    expect(short.stderr).toBe('attend: input 1: 3 values; the model takes 1 × 8 × 8 = 64 pixel values (and an optional class id after them)\n');
    const text = await attend(['infer', ckpt, 'hello']);
    expect(text.code).toBe(1);
    expect(text.stderr).toMatch(/^attend: input 1: value 1 is not a number: "hello"\n$/);
    const translate = await attend(['translate', ckpt, 'hello']);
    expect(translate.code).toBe(1);
    expect(translate.stderr).toBe(`attend: ${ckpt}: a vit-classifier model; translate needs an encoder-decoder or rnn-seq2seq (use attend infer)\n`);
    const onnx = join(dir, 'vit-onnx');
    const serve = await attend(['serve', onnx, '--port', '0']);
    expect(serve.code).toBe(1);
    expect(serve.stderr).toBe(`attend: ${join(onnx, 'config.json')}: preset 'vit-classifier'; attend serve runs encoder-classifier, decoder-lm and encoder-decoder exports (use attend infer)\n`);
  });
});

describe('attend errors', () => {
  it('rejects a mistyped flag with a suggestion', async () => {
    const r = await attend(['train', '--task', 'copy', '--out', join(dir, 'x'), '--stpes', '5']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe("attend: unknown option '--stpes' (Did you mean --steps?)\n");
    const value = await attend(['infer', folder, 'abc', '--device', 'tpu']);
    expect(value.code).toBe(2);
    expect(value.stderr).toBe("attend: option '--device <device>' argument 'tpu' is invalid. Allowed choices are cpu, cuda, wasm.\n");
    const deviceId = await attend(['infer', folder, 'abc', '--device', 'wasm', '--device-id', '1']);
    expect(deviceId.code).toBe(2);
    expect(deviceId.stderr).toBe("attend: --device wasm --device-id 1: deviceId is for device 'cuda'; 'wasm' takes none\n");
    const cpu = await attend(['infer', folder, 'abc']);
    const cuda = await attend(['infer', folder, 'abc', '--device', 'cuda', '--device-id', '0']);
    expect([cuda.code, cuda.stdout]).toEqual([0, cpu.stdout]);
    // Where CUDA cannot start, attend says so in one line, and onnxruntime-node's native logger says nothing.
    expect(cuda.stderr).toMatch(/^(?:|attend: --device cuda is unavailable \([^\n]+\); running on cpu\n)$/);
    const data = await attend(['train', '--text', join(dir, 'missing.txt'), '--preset', 'encoder-decoder', '--out', join(dir, 'x')]);
    expect(data.code).toBe(2);
    expect(data.stderr).toMatch(/^attend: --text is data for decoder-lm, but the preset is encoder-decoder/);
  });

  it('names a missing data file in one line, without a stack trace', async () => {
    const missing = join(dir, 'missing.tsv');
    const r = await attend(['train', '--pairs', missing, '--out', join(dir, 'x')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`attend: ${missing}: no such file\n`);
  });

  it('reports a corrupt checkpoint in one line naming the file', async () => {
    const bad = join(dir, 'corrupt');
    await cp(checkpoint, bad, { recursive: true });
    const weights = await readFile(join(bad, 'model.safetensors'));
    await writeFile(join(bad, 'model.safetensors'), weights.subarray(0, 100));
    const r = await attend(['translate', bad, 'abc']);
    expect(r.code).toBe(1);
    expect(r.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^attend: .*model\.safetensors: /);
  });
});

describe('attend train --resume', () => {
  it('continues an interrupted run from its saved step', async () => {
    const out = join(dir, 'resume');
    let interrupted = false;
    const first = await attend(['train', '--task', 'reverse', '--steps', '2000', '--eval-every', '20', '--out', out, ...TINY], {
      onStdout: (text, child) => {
        if (!interrupted && text.includes('eval @ step 20')) {
          interrupted = true;
          child.kill('SIGINT');
        }
      },
    });
    expect(first.code).toBe(130);
    const saved = Number(/interrupted at step (\d+); checkpoint saved/.exec(first.stdout)?.[1]);
    expect(saved).toBeGreaterThanOrEqual(20);
    expect(saved).toBeLessThan(2000);
    const target = saved + 20;
    const second = await attend(['train', '--task', 'reverse', '--steps', String(target), '--eval-every', '20', '--out', out, '--resume', ...TINY]);
    expect(second.code).toBe(0);
    expect(second.stdout).toContain(`resuming from step ${saved}:`);
    const firstLogged = Number(/step (\d+)\/\d+/.exec(second.stdout)?.[1]);
    expect(firstLogged).toBeGreaterThan(saved);
    expect(second.stdout).toContain(`done: step ${target}/${target}`);
  });
});
