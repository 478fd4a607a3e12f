// Manual check that transformers.js loads an attend export folder offline and gives the same
// greedy continuation as attend's own runtime. @huggingface/transformers is not a dependency of
// this package; install it anywhere with scripts off and point TRANSFORMERS_JS_DIR there:
//
//   npm install --prefix /tmp/tjs --ignore-scripts @huggingface/transformers@4.3.1
//   node scripts/pnpm.mjs --filter @attend/runtime-onnx build   # (from the repo root)
//   TRANSFORMERS_JS_DIR=/tmp/tjs node packages/runtime-onnx/scripts/transformersjs-check.mjs [positional] [attention] [localWindow]
//
// Builds a small decoder-lm with random weights and a char tokenizer, exports it with
// exportFolder, and prints both continuations of one prompt; exits 1 when they differ.

import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { CharTokenizer, createModelConfig, createRng, f32Tensor, parseSafetensors, serializeSafetensors } from '@attend/core';
import { serializeCheckpoint, setupBackend, TransformerModel } from '@attend/transformer';
import { exportFolder, generate, loadExportFolder } from '@attend/runtime-onnx/node';

const where = process.env.TRANSFORMERS_JS_DIR;
if (!where) {
  console.error('set TRANSFORMERS_JS_DIR to a folder where @huggingface/transformers is installed');
  process.exit(2);
}
const { AutoModelForCausalLM, AutoTokenizer, env, Tensor } = await import(pathToFileURL(join(where, 'node_modules/@huggingface/transformers/dist/transformers.node.mjs')).href);

const [positional = 'rope', attention = 'scaled_dot', window] = process.argv.slice(2);
await setupBackend(['cpu']);
const dir = await mkdtemp(join(tmpdir(), 'attend-tjs-'));
try {
  const tokenizer = CharTokenizer.fromAlphabet('abcdefghijklmnop');
  const config = createModelConfig({
    preset: 'decoder-lm', vocabSize: tokenizer.vocabSize, dModel: 16, numHeads: 2, numEncoderLayers: 0, numDecoderLayers: 2,
    dFf: 32, maxSeqLen: 24, dropout: 0, positional, attention, localWindow: window ? Number(window) : null,
  });
  const model = new TransformerModel(config, { seed: 3 });
  const files = serializeCheckpoint({ model, tokenizer: tokenizer.toJSON() });
  model.dispose();
  // Initial weights give near-uniform attention and dull continuations; move every weight.
  const rng = createRng(7);
  const moved = {};
  for (const [name, t] of Object.entries(parseSafetensors(files['model.safetensors']).tensors)) {
    const offset = /layer_norm\.weight$/.test(name) ? 1 : 0;
    moved[name] = f32Tensor(t.shape, Float32Array.from({ length: t.shape.reduce((a, b) => a * b, 1) }, () => offset + 0.4 * rng.normal()));
  }
  files['model.safetensors'] = serializeSafetensors(moved);
  await mkdir(join(dir, 'ckpt'));
  for (const [name, bytes] of Object.entries(files)) await writeFile(join(dir, 'ckpt', name), bytes);
  await exportFolder(join(dir, 'ckpt'), join(dir, 'export'));

  const prompt = [config.bosTokenId, ...tokenizer.encode('abcab')];
  const { model: onnx } = await loadExportFolder(join(dir, 'export'));
  const ours = (await generate(onnx, { prompts: [prompt], maxNewTokens: 12 }))[0];
  await onnx.release();

  env.allowRemoteModels = false;
  env.localModelPath = dir;
  const tjsTokenizer = await AutoTokenizer.from_pretrained('export');
  const tjsIds = Array.from(tjsTokenizer.encode('abcab', { add_special_tokens: false }));
  const lm = await AutoModelForCausalLM.from_pretrained('export', { dtype: 'fp32', device: 'cpu' });
  const n = prompt.length;
  const out = await lm.generate({
    input_ids: new Tensor('int64', BigInt64Array.from(prompt, BigInt), [1, n]),
    attention_mask: new Tensor('int64', new BigInt64Array(n).fill(1n), [1, n]),
    max_new_tokens: 12,
    do_sample: false,
  });
  let theirs = Array.from(out.data, Number).slice(n);
  if (theirs.includes(config.eosTokenId)) theirs = theirs.slice(0, theirs.indexOf(config.eosTokenId));
  console.log(`config: positional=${positional} attention=${attention} localWindow=${window ?? 'none'}`);
  console.log(`tokenizer ids of "abcab": attend ${JSON.stringify(tokenizer.encode('abcab'))}, transformers.js ${JSON.stringify(tjsIds)}`);
  console.log(`attend          ${JSON.stringify(ours)}`);
  console.log(`transformers.js ${JSON.stringify(theirs)}`);
  const same = JSON.stringify(ours) === JSON.stringify(theirs);
  console.log(same ? 'same greedy output' : 'DIFFERENT greedy output');
  process.exitCode = same ? 0 : 1;
} finally {
  await rm(dir, { recursive: true, force: true });
}
