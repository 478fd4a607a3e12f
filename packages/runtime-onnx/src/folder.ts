// The export folder in the layout transformers.js (and Hugging Face Optimum) expects of a
// decoder-only model, built in memory from checkpoint files (browser-safe; `exportFolder` in
// node.ts writes it to disk):
//
//   config.json              model_type "gpt2" with gpt2 field names, + `attend`: the ModelConfig
//   tokenizer.json           the checkpoint's, unchanged
//   tokenizer_config.json    tokenizer_class, special tokens, model_max_length
//   generation_config.json   bos/eos/pad ids, max_length
//   onnx/model.onnx          the KV-cache graph (see export.ts)
//   onnx/model_shared_cache.onnx   with kvCache 'shared' only: the in-place cache graph, which
//                            attend's generation runs on onnxruntime-node's CPU; config.json
//                            names it under `attend_graphs` (transformers.js ignores both)
//
// `model_type: "gpt2"` tells transformers.js which inputs to feed (input_ids, attention_mask,
// position_ids, past_key_values.{i}.key|value with n_head heads of n_embd / n_head). The graph
// itself is attend's (any positional encoding, score function or norm placement); the gpt2
// fields describe only its interface.
//
// An encoder–decoder (preset 'encoder-decoder') is exported in the marian layout instead:
// config.json with model_type "marian" and its field names (d_model, encoder_layers, …,
// decoder_start_token_id = bos), and onnx/encoder_model.onnx + onnx/decoder_model_merged.onnx
// (see exportSeq2Seq in models/encoder-decoder/export.ts).
//
// An encoder-classifier is exported in the bert layout: config.json with model_type "bert",
// architectures BertForSequenceClassification and num_labels, the tokenizer files, and
// onnx/model.onnx, the forward graph (input_ids, attention_mask → logits [B, numClasses]).
// It has no generation_config.json: nothing is generated.
//
// A vit-classifier is exported in the vit layout: config.json with model_type "vit",
// architectures ViTForImageClassification, image_size / patch_size / num_channels and the
// labels, preprocessor_config.json (ViTImageProcessor with every step off: the graph itself
// multiplies by pixelScale, so pixel_values are the raw values as stored), and
// onnx/model.onnx (pixel_values [B, C, S, S] → logits [B, numClasses]). No tokenizer files.
//
// An rnn-seq2seq (GRU encoder–decoder) has no transformers.js architecture; its folder is for
// attend only (loadRnnSeq2SeqFolder, `attend infer`): config.json with model_type
// "attend-rnn-seq2seq", is_encoder_decoder and the full config under `attend`, the tokenizer
// and generation files as above, and onnx/rnn_encoder.onnx + onnx/rnn_decoder_step.onnx (see
// exportRnnSeq2Seq in models/rnn-seq2seq/export.ts). Which files a kind writes is its entry in models/registry.ts.

import { baseConfig, CheckpointError, concatBytes, ConfigError, hasTokens, parseModelConfig, type ModelConfig, CHECKPOINT_FILES, hfConfig, tokenizerFromBytes } from '@attend/core';
import type { ExportOptions } from './export.js';
import type { FileBytes } from './graph-file.js';
import { EXPORT_FILES, tokenizerConfig } from './folder-files.js';
import { runtimeKind } from './models/registry.js';
import type { FolderKvCache } from './models/kind.js';

export { EXPORT_FILES, generationConfig, tokenizerConfig } from './folder-files.js';

/**
 * The files of the export folder (paths as in EXPORT_FILES) from checkpoint files
 * (`config.json`, `model.safetensors`, `tokenizer.json`); `dir` names them in errors.
 */
export function exportFolderFiles(files: Record<string, Uint8Array>, options: ExportFolderOptions & { dir?: string } = {}): Record<string, Uint8Array> {
  return Object.fromEntries(Object.entries(exportFolderParts(files, options)).map(([path, bytes]) => [path, bytes instanceof Uint8Array ? bytes : concatBytes(bytes)]));
}

/**
 * exportFolderFiles with the large graphs as parts whose weights are views of the graphs'
 * initializers (graph-file.ts `encodeGraphParts`): written part by part (core
 * `writeFolderAtomic`), an export holds no serialised copy of its weights in memory.
 */
export function exportFolderParts(files: Record<string, Uint8Array>, options: ExportFolderOptions & { dir?: string } = {}): Record<string, FileBytes> {
  const where = (name: string): string => (options.dir ? `${options.dir}/${name}` : name);
  const read = (name: string): Uint8Array => {
    const bytes = files[name];
    if (!bytes) throw new CheckpointError(`${where(name)}: missing${name === CHECKPOINT_FILES.tokenizer ? ' (an export folder needs the tokenizer)' : ''}`);
    return bytes;
  };
  let config: ModelConfig;
  try {
    // LoRA adapters are merged into the graphs' weights (readCheckpointFiles): the folder describes the merged model.
    config = baseConfig(parseModelConfig(utf8Text(read(CHECKPOINT_FILES.config), where(CHECKPOINT_FILES.config)), where(CHECKPOINT_FILES.config)));
  } catch (error) {
    if (error instanceof ConfigError) throw new CheckpointError(error.message);
    throw error;
  }
  const json = (x: unknown): Uint8Array => new TextEncoder().encode(`${JSON.stringify(x, null, 2)}\n`);
  const kind = runtimeKind(config);
  const kvCache = options.kvCache ?? 'standard';
  if (kvCache === 'shared' && !kind.layout.optionalGraphs?.['decoder-shared-cache']) throw new ConfigError('kvCache', `'shared' writes a decoder-lm's in-place cache graph; a '${config.preset}' export has none`);
  const graphs = kind.exportGraphs(config, { files, dir: options.dir, read, where, withAttention: options.withAttention ?? false, optimize: options.optimize ?? false, kvCache });
  const optional = Object.entries(kind.layout.optionalGraphs ?? {}).filter(([, graph]) => graphs[graph.file] !== undefined);
  const out: Record<string, FileBytes> = { [EXPORT_FILES.config]: json({ ...hfConfig(config), ...(optional.length > 0 ? { [FOLDER_GRAPHS_KEY]: Object.fromEntries(optional.map(([kind, graph]) => [kind, graph.file])) } : {}) }) };
  if (kind.layout.tokenizer && hasTokens(config)) {
    const tokenizerBytes = read(CHECKPOINT_FILES.tokenizer);
    const tokenizer = tokenizerFromBytes(tokenizerBytes, where(CHECKPOINT_FILES.tokenizer));
    out[EXPORT_FILES.tokenizer] = tokenizerBytes;
    out[EXPORT_FILES.tokenizerConfig] = json(tokenizerConfig(config, tokenizer, where(CHECKPOINT_FILES.tokenizer)));
  }
  for (const [path, value] of Object.entries(kind.folderJson(config))) out[path] = json(value);
  return { ...out, ...graphs };
}

/** What an export folder is written with: exportForward's graph options, and which KV-cache graphs (default 'standard'). */
export type ExportFolderOptions = Pick<ExportOptions, 'withAttention' | 'optimize'> & { kvCache?: FolderKvCache };

/** config.json's key naming the optional graphs a folder holds (graph kind → file; see OptionalLayoutGraph). */
export const FOLDER_GRAPHS_KEY = 'attend_graphs';

/**
 * The optional graphs config.json lists under `attend_graphs` (graph kind → folder path); none
 * when the key is absent. `source` names the file in errors.
 */
export function readFolderGraphs(bytes: Uint8Array, source: string): Record<string, string> {
  const listed = (jsonFile(bytes, source) as Record<string, unknown>)[FOLDER_GRAPHS_KEY];
  if (listed === undefined) return {};
  const ok = typeof listed === 'object' && listed !== null && !Array.isArray(listed) && Object.values(listed).every((file) => typeof file === 'string');
  if (!ok) throw new CheckpointError(`${source}: '${FOLDER_GRAPHS_KEY}' must map graph kinds to file paths`);
  return listed as Record<string, string>;
}

/**
 * The attend ModelConfig of an export folder's config.json (its `attend` key); `source`
 * names the file in errors.
 */
export function readFolderConfig(bytes: Uint8Array, source: string): ModelConfig {
  const json = jsonFile(bytes, source);
  const attend = typeof json === 'object' && json !== null ? (json as Record<string, unknown>).attend : undefined;
  if (attend === undefined) throw new CheckpointError(`${source}: no 'attend' key (not an attend export folder)`);
  try {
    return parseModelConfig(JSON.stringify(attend), `${source} 'attend'`);
  } catch (error) {
    throw new CheckpointError((error as Error).message);
  }
}

/** `bytes` as parsed JSON; a CheckpointError naming `source` when they are not. */
export function jsonFile(bytes: Uint8Array, source: string): unknown {
  const text = utf8Text(bytes, source);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new CheckpointError(`${source}: not JSON (${(error as Error).message.replace(/\s+/g, ' ')})`);
  }
}

/** `bytes` as UTF-8 text; a CheckpointError naming `source` when they are not UTF-8. */
export function utf8Text(bytes: Uint8Array, source: string): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new CheckpointError(`${source}: not valid UTF-8 text`);
  }
}
