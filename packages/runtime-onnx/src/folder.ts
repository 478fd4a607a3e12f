// The export folder in the layout transformers.js (and Hugging Face Optimum) expects of a
// decoder-only model, built in memory from checkpoint files (browser-safe; `exportFolder` in
// node.ts writes it to disk):
//
//   config.json              model_type "gpt2" with gpt2 field names, + `attend`: the ModelConfig
//   tokenizer.json           the checkpoint's, unchanged
//   tokenizer_config.json    tokenizer_class, special tokens, model_max_length
//   generation_config.json   bos/eos/pad ids, max_length
//   onnx/model.onnx          the KV-cache graph (see export.ts)
//
// `model_type: "gpt2"` tells transformers.js which inputs to feed (input_ids, attention_mask,
// position_ids, past_key_values.{i}.key|value with n_head heads of n_embd / n_head). The graph
// itself is attend's (any positional encoding, score function or norm placement); the gpt2
// fields describe only its interface.
//
// An encoder–decoder (preset 'encoder-decoder') is exported in the marian layout instead:
// config.json with model_type "marian" and its field names (d_model, encoder_layers, …,
// decoder_start_token_id = bos), and onnx/encoder_model.onnx + onnx/decoder_model_merged.onnx
// (see exportSeq2Seq in export.ts).
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
// exportRnnSeq2Seq in rnn-export.ts).

import { checkTokenizerFits, checkWeights, CheckpointError, ConfigError, parseModelConfig, parseSafetensors, tokenizerFromJSON, type ModelConfig, type Tokenizer, type TokenFields, type VitClassifierConfig, CHECKPOINT_FILES, hfConfig, vitPreprocessorConfig, tokenizerFromBytes } from '@attend/core';
import { exportCheckpointFiles, exportSeq2SeqCheckpointFiles, type ExportOptions } from './export.js';
import { exportRnnSeq2Seq } from './models/rnn-seq2seq/export.js';

/** Paths of the export folder's files. */
export const EXPORT_FILES = {
  config: 'config.json',
  tokenizer: 'tokenizer.json',
  tokenizerConfig: 'tokenizer_config.json',
  generationConfig: 'generation_config.json',
  model: 'onnx/model.onnx',
  /** vit-classifier only, in place of the tokenizer files. */
  preprocessorConfig: 'preprocessor_config.json',
} as const;

/** Paths of the two graphs of a seq2seq export folder (the other files as in EXPORT_FILES). */
export const SEQ2SEQ_FILES = {
  encoder: 'onnx/encoder_model.onnx',
  decoder: 'onnx/decoder_model_merged.onnx',
} as const;

/** Paths of the two graphs of an rnn-seq2seq export folder (the other files as in EXPORT_FILES). */
export const RNN_SEQ2SEQ_FILES = {
  encoder: 'onnx/rnn_encoder.onnx',
  decoder: 'onnx/rnn_decoder_step.onnx',
} as const;

/** transformers.js tokenizer class for each attend tokenizer kind. */
const TOKENIZER_CLASSES: Record<Tokenizer['kind'], string> = {
  bpe: 'GPT2Tokenizer', // byte-level BPE, as gpt2's
  char: 'PreTrainedTokenizer', // WordLevel models: the generic tokenizer.json-driven class
  word: 'PreTrainedTokenizer',
};

/**
 * tokenizer_config.json: the class transformers.js should build, special tokens, max length.
 * The tokenizer must fit the config (checkTokenizerFits, `source` names it), so each special
 * token is named after its own role: bos is always `<s>`, never `</s>`.
 */
export function tokenizerConfig(config: TokenFields & { maxSeqLen: number }, tokenizer: Tokenizer, source: string = CHECKPOINT_FILES.tokenizer): Record<string, unknown> {
  checkTokenizerFits(tokenizer, config, source);
  const token = (id: number): string => tokenizer.idsToTokens([id])[0]!;
  const ids = tokenizer.specialTokenIds;
  return {
    tokenizer_class: TOKENIZER_CLASSES[tokenizer.kind],
    bos_token: token(ids.bos),
    eos_token: token(ids.eos),
    pad_token: token(ids.pad),
    unk_token: token(ids.unk),
    model_max_length: config.maxSeqLen,
    add_bos_token: false,
    add_eos_token: false,
    clean_up_tokenization_spaces: false,
  };
}

export function generationConfig(config: Exclude<ModelConfig, VitClassifierConfig>): Record<string, unknown> {
  return {
    ...('numDecoderLayers' in config && 'numEncoderLayers' in config ? { decoder_start_token_id: config.bosTokenId } : {}),
    bos_token_id: config.bosTokenId,
    eos_token_id: config.eosTokenId,
    pad_token_id: config.padTokenId,
    max_length: config.maxSeqLen,
    do_sample: false,
    num_beams: 1,
  };
}

/**
 * The files of the export folder (paths as in EXPORT_FILES) from checkpoint files
 * (`config.json`, `model.safetensors`, `tokenizer.json`); `dir` names them in errors.
 */
export function exportFolderFiles(files: Record<string, Uint8Array>, options: Pick<ExportOptions, 'withAttention'> & { dir?: string } = {}): Record<string, Uint8Array> {
  const where = (name: string): string => (options.dir ? `${options.dir}/${name}` : name);
  const read = (name: string): Uint8Array => {
    const bytes = files[name];
    if (!bytes) throw new CheckpointError(`${where(name)}: missing${name === CHECKPOINT_FILES.tokenizer ? ' (an export folder needs the tokenizer)' : ''}`);
    return bytes;
  };
  let config: ModelConfig;
  try {
    config = parseModelConfig(utf8Text(read(CHECKPOINT_FILES.config), where(CHECKPOINT_FILES.config)), where(CHECKPOINT_FILES.config));
  } catch (error) {
    if (error instanceof ConfigError) throw new CheckpointError(error.message);
    throw error;
  }
  const json = (x: unknown): Uint8Array => new TextEncoder().encode(`${JSON.stringify(x, null, 2)}\n`);
  if (config.preset === 'vit-classifier') {
    const onnx = exportCheckpointFiles(files, { dir: options.dir, withAttention: options.withAttention ?? false });
    return { [EXPORT_FILES.config]: json(hfConfig(config)), [EXPORT_FILES.preprocessorConfig]: json(vitPreprocessorConfig(config)), [EXPORT_FILES.model]: onnx };
  }
  const tokenizerBytes = read(CHECKPOINT_FILES.tokenizer);
  const tokenizer = tokenizerFromBytes(tokenizerBytes, where(CHECKPOINT_FILES.tokenizer));
  const tokenizerFiles = {
    [EXPORT_FILES.tokenizer]: tokenizerBytes,
    [EXPORT_FILES.tokenizerConfig]: json(tokenizerConfig(config, tokenizer, where(CHECKPOINT_FILES.tokenizer))),
  };
  if (config.preset === 'encoder-classifier') {
    const onnx = exportCheckpointFiles(files, { dir: options.dir, withAttention: options.withAttention ?? false });
    return { [EXPORT_FILES.config]: json(hfConfig(config)), ...tokenizerFiles, [EXPORT_FILES.model]: onnx };
  }
  const common = { ...tokenizerFiles, [EXPORT_FILES.generationConfig]: json(generationConfig(config)) };
  if (config.preset === 'rnn-seq2seq') {
    const source = where(CHECKPOINT_FILES.weights);
    const { tensors } = parseSafetensors(read(CHECKPOINT_FILES.weights), { source });
    checkWeights(config, tensors, source);
    const { encoder, decoder } = exportRnnSeq2Seq(config, tensors, { source });
    return { [EXPORT_FILES.config]: json(hfConfig(config)), ...common, [RNN_SEQ2SEQ_FILES.encoder]: encoder, [RNN_SEQ2SEQ_FILES.decoder]: decoder };
  }
  if (config.preset === 'encoder-decoder') {
    const { encoder, decoder } = exportSeq2SeqCheckpointFiles(files, { dir: options.dir, withAttention: options.withAttention ?? false });
    return { [EXPORT_FILES.config]: json(hfConfig(config)), ...common, [SEQ2SEQ_FILES.encoder]: encoder, [SEQ2SEQ_FILES.decoder]: decoder };
  }
  const onnx = exportCheckpointFiles(files, { dir: options.dir, kvCache: true, withAttention: options.withAttention ?? false });
  return { [EXPORT_FILES.config]: json(hfConfig(config)), ...common, [EXPORT_FILES.model]: onnx };
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
