// `attend export`: a checkpoint folder → the ONNX export folder of @attend/runtime-onnx
// (transformers.js layout); `--optimize` writes ONNX Runtime's fused operators; `--kv-cache
// shared` adds the in-place cache graph that generation runs on onnxruntime-node's cpu; `--quantize`
// replaces each graph by its int8-weight copy (int8) or integer-MatMul copy (int8-dynamic, int4);
// `--target triton` writes a Triton Inference Server model repository instead (see
// @attend/runtime-onnx's triton.ts). Prints the files with their sizes and the parity of the
// export with the checkpoint (largest |tfjs − onnxruntime| logit on a few seeded inputs, see
// parity.ts). --out must be new or empty, or an earlier export replaced with --overwrite; a
// Triton export adds its model folders to a repository and replaces one only with --overwrite
// (see out-folder.ts). `--format hf` writes a Hugging Face model folder instead (export-hf.ts).

import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, relative, resolve } from 'node:path';
import { DECODER_LM_FILES, EXPORT_FILES, exportFolder, exportTritonRepository, quantizeMatMuls, quantizeModel, RNN_SEQ2SEQ_FILES, SEQ2SEQ_FILES, tritonModels } from '@attend/runtime-onnx/node';
import { ConfigError } from '@attend/core';
import { CliError } from '../errors.js';
import { writeFileAtomic } from '../files.js';
import { folderKind } from '../model-folder.js';
import { formatBytes } from '../options.js';
import { foreignEntries, outFolderState, refuseOverlap, type OutputKind } from '../out-folder.js';
import type { Parity } from '../parity.js';

export interface ExportCommandOptions {
  out: string;
  quantize?: string;
  /** --quantize int8-dynamic / int4: keep a tied LM head float32 (quantizeMatMuls' tiedHead: false). */
  fp32Head?: boolean;
  /** --quantize int4: MatMulNBits' block size (16, 32, 64, 128 or 256; default 32). */
  int4Block?: string;
  /** Fused ONNX Runtime operators (runtime-onnx ExportOptions.optimize). */
  optimize?: boolean;
  withAttention: boolean;
  /** 'shared': also the in-place cache graph (runtime-onnx ExportFolderOptions.kvCache); default 'standard'. */
  kvCache?: string;
  /** 'onnx' (default): the export folder; 'triton': a Triton model repository. */
  target?: string;
  /** Replace an earlier export folder (or, for Triton, model folders of the same name). */
  overwrite?: boolean;
  /** A LoRA checkpoint's adapters alone, in PEFT's layout (export-adapter.ts). */
  adapterOnly?: boolean;
  /** 'onnx' (default): the ONNX export folder; 'hf': a Hugging Face model folder (export-hf.ts). */
  format?: string;
  /** --format hf: shards of at most this size (`5GB`, `500MB`, bytes), as save_pretrained's max_shard_size. */
  maxShardSize?: string;
}

const graphFile = (path: string): string => path.slice(path.indexOf('/') + 1);
const GRAPH_FOLDER = EXPORT_FILES.model.slice(0, EXPORT_FILES.model.indexOf('/'));
const GRAPHS = [EXPORT_FILES.model, DECODER_LM_FILES.sharedCache, SEQ2SEQ_FILES.encoder, SEQ2SEQ_FILES.decoder, RNN_SEQ2SEQ_FILES.encoder, RNN_SEQ2SEQ_FILES.decoder].map(graphFile);

const EXPORT_ENTRIES = [EXPORT_FILES.config, EXPORT_FILES.tokenizer, EXPORT_FILES.tokenizerConfig, EXPORT_FILES.generationConfig, EXPORT_FILES.preprocessorConfig];

/** An export folder: config.json and onnx/ with attend's graphs, and only export files beside. */
const EXPORT_FOLDER: OutputKind = {
  name: 'an export folder',
  marks: (entries) => entries.includes(EXPORT_FILES.config) && entries.includes(GRAPH_FOLDER),
  foreign: (dir, entries) => foreignEntries(dir, entries, EXPORT_ENTRIES, { [GRAPH_FOLDER]: (name) => GRAPHS.includes(name) }),
};

/** A Triton model repository: model folders only. */
const TRITON_REPOSITORY: OutputKind = {
  name: 'a Triton model repository (model folders only)',
  marks: () => true,
  foreign: async (dir, entries) => {
    const folders = await Promise.all(entries.map((e) => stat(join(dir, e)).then((s) => s.isDirectory(), () => false)));
    return entries.filter((_, i) => !folders[i]);
  },
};

const TRITON_MODEL_ENTRIES = ['config.pbtxt', EXPORT_FILES.config, EXPORT_FILES.tokenizer, EXPORT_FILES.preprocessorConfig];

/** A Triton model folder as attend writes it: config.pbtxt, version folders of model.onnx, and the export's config files. */
const TRITON_MODEL: OutputKind = {
  name: 'a Triton model folder',
  marks: (entries) => entries.includes('config.pbtxt'),
  foreign: (dir, entries) => foreignEntries(dir, entries, TRITON_MODEL_ENTRIES, Object.fromEntries(entries.filter((e) => /^\d+$/.test(e)).map((e) => [e, (name: string) => name === 'model.onnx']))),
};

/** The --quantize schemes: graph bytes → quantized graph bytes (the integer MatMul schemes take `tiedHead` and int4's `blockSize`). */
const QUANTIZERS: Record<string, (bytes: Uint8Array, o: { tiedHead: boolean; blockSize?: number }) => Uint8Array> = {
  int8: (bytes) => quantizeModel(bytes),
  'int8-dynamic': (bytes, { tiedHead }) => quantizeMatMuls(bytes, 'int8-dynamic', { tiedHead }),
  int4: (bytes, { tiedHead, blockSize }) => quantizeMatMuls(bytes, 'int4', { tiedHead, int4: { blockSize } }),
};
/** --int4-block's values (MatMulNBits' block sizes). */
const INT4_BLOCKS = ['16', '32', '64', '128', '256'];

async function listFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { withFileTypes: true, recursive: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name))
    .sort();
}

export async function exportCommand(checkpoint: string, o: ExportCommandOptions): Promise<void> {
  if (o.quantize !== undefined && !Object.hasOwn(QUANTIZERS, o.quantize)) throw new CliError(`--quantize: "${o.quantize}" is not supported; use ${Object.keys(QUANTIZERS).join(', ')}`, 2);
  if (o.int4Block !== undefined && o.quantize !== 'int4') throw new CliError('--int4-block: sets --quantize int4\'s block size; give --quantize int4', 2);
  if (o.int4Block !== undefined && !INT4_BLOCKS.includes(o.int4Block)) throw new CliError(`--int4-block: "${o.int4Block}" is not supported; use ${INT4_BLOCKS.join(', ')}`, 2);
  if (o.fp32Head && o.quantize !== 'int8-dynamic' && o.quantize !== 'int4') throw new CliError('--fp32-head: keeps a tied LM head out of --quantize int8-dynamic or int4; give one of them', 2);
  if (o.optimize && o.withAttention) throw new CliError('--optimize: a fused graph has no attention weights; give --optimize or --with-attention, not both', 2);
  const kvCache = o.kvCache ?? 'standard';
  if (kvCache !== 'standard' && kvCache !== 'shared') throw new CliError(`--kv-cache: "${kvCache}" is not supported; use standard or shared`, 2);
  if (kvCache === 'shared' && (o.withAttention || (o.format ?? 'onnx') !== 'onnx' || o.adapterOnly)) {
    throw new CliError('--kv-cache shared: the in-place cache graph has no attention weights and is for the ONNX export folder only; it takes no --with-attention, --format hf or --adapter-only', 2);
  }
  if (kvCache === 'shared' && (o.target ?? 'onnx') !== 'onnx') {
    // Triton hands a model new input and output tensors on every request, so the buffer cannot be both past and present there.
    throw new CliError('--kv-cache shared: Triton gives the model separate input and output tensors on every request, so its cache cannot be updated in place there; export --target triton with the standard KV cache', 2);
  }
  if ((await folderKind(checkpoint)) !== 'checkpoint') throw new CliError(`${checkpoint}: already an export folder; export takes a training checkpoint`);
  const target = o.target ?? 'onnx';
  if (target !== 'onnx' && target !== 'triton') throw new CliError(`--target: "${target}" is not supported; use onnx or triton`, 2);
  await refuseOverlap(o.out, [checkpoint]);
  const format = o.format ?? 'onnx';
  if (format !== 'onnx' && format !== 'hf') throw new CliError(`--format: "${format}" is not supported; use onnx or hf`, 2);
  if (o.maxShardSize !== undefined && format !== 'hf') throw new CliError('--max-shard-size: for --format hf (it splits model.safetensors into shards)', 2);
  if (format === 'hf') {
    if (target !== 'onnx' || o.quantize || o.optimize || o.withAttention || o.adapterOnly) throw new CliError('--format hf writes PyTorch weights; it takes no --target, --quantize, --optimize, --with-attention or --adapter-only', 2);
    return (await import('./export-hf.js')).exportHfCommand(checkpoint, o);
  }
  if (o.adapterOnly) {
    if (target !== 'onnx' || o.quantize || o.withAttention) throw new CliError('--adapter-only writes the adapters alone; it takes no --target, --quantize or --with-attention', 2);
    return (await import('./export-adapter.js')).exportAdapterCommand(checkpoint, o);
  }
  if (target === 'triton') await outFolderState(o.out, TRITON_REPOSITORY);
  else if ((await outFolderState(o.out, EXPORT_FOLDER)) === 'earlier-output' && !o.overwrite) {
    throw new CliError(`--out ${o.out}: already an export folder; give --overwrite to replace it`, 2);
  }
  // For Triton, the export folder is a staging step in a temporary folder.
  const staging = target === 'triton' ? await mkdtemp(join(tmpdir(), 'attend-export-')) : undefined;
  const folder = staging ? join(staging, 'onnx') : o.out;
  let parity: Parity;
  let written = [o.out];
  try {
    await exportFolder(checkpoint, folder, { withAttention: o.withAttention, optimize: o.optimize ?? false, kvCache }).catch((error: unknown) => {
      // What the model's config rules out for the in-place graph (its scores, head size, preset) is a usage error of the flag.
      throw kvCache === 'shared' && error instanceof ConfigError ? new CliError(`--kv-cache shared: ${error.message}`, 2) : error;
    });
    const quantize = o.quantize === undefined ? undefined : QUANTIZERS[o.quantize]!;
    if (quantize) {
      for (const file of (await listFiles(folder)).filter((f) => f.endsWith('.onnx'))) {
        const before = await readFile(file);
        await writeFileAtomic(file, quantize(new Uint8Array(before.buffer, before.byteOffset, before.byteLength), { tiedHead: !o.fp32Head, blockSize: o.int4Block === undefined ? undefined : Number(o.int4Block) }));
      }
    }
    const { exportParity } = await import('../parity.js');
    parity = await exportParity(checkpoint, folder);
    if (!Number.isFinite(parity.maxAbsDiff)) {
      throw new CliError(`${checkpoint}: the checkpoint or its export computes non-finite logits (parity ${parity.maxAbsDiff}); the export in ${o.out} is not usable`);
    }
    if (staging) {
      const name = basename(resolve(checkpoint)).replace(/[^A-Za-z0-9_-]/g, '_');
      written = Object.keys(await tritonModels(folder, { name })).map((model) => join(o.out, model));
      for (const model of written) {
        if ((await outFolderState(model, TRITON_MODEL, `--out ${o.out}: model folder`)) === 'earlier-output' && !o.overwrite) {
          throw new CliError(`--out ${o.out}: already has the model ${basename(model)}; give --overwrite to replace it (the repository's other models are kept)`, 2);
        }
      }
      await exportTritonRepository(folder, o.out, { name });
    }
  } finally {
    if (staging) await rm(staging, { recursive: true, force: true });
  }
  const files = (await Promise.all(written.map(listFiles))).flat();
  console.log(`exported ${checkpoint} → ${o.out}${target === 'triton' ? ' (Triton model repository)' : ''}${o.optimize ? ' (fused operators)' : ''}${kvCache === 'shared' ? ' (+ in-place KV cache graph)' : ''}${o.quantize ? ` (${o.quantize} weights)` : ''}`);
  let total = 0;
  for (const file of files) {
    const size = (await stat(file)).size;
    total += size;
    console.log(`  ${relative(o.out, file).padEnd(36)} ${formatBytes(size).padStart(9)}`);
  }
  console.log(`  ${'total'.padEnd(36)} ${formatBytes(total).padStart(9)}`);
  const readings = parity.readings ? ` (hard attention read as ${Object.entries(parity.readings).map(([r, d]) => `${r} ${d.toExponential(2)}`).join(', ')})` : '';
  console.log(`parity: max |tfjs − onnxruntime-node| logit = ${parity.maxAbsDiff.toExponential(2)} on ${parity.rows} ${parity.images ? 'images' : `inputs of ≤ ${parity.seqLen} tokens`}${readings}${o.quantize ? ` (${o.quantize} weights vs the fp32 checkpoint)` : ''}`);
}
