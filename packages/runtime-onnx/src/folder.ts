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

import { CheckpointError, ConfigError, parseModelConfig, parseSafetensors, tokenizerFromBytes, type ModelConfig, type Tokenizer } from '@attend/core';
import { exportCheckpointFiles, exportSeq2SeqCheckpointFiles, type ExportOptions } from './export.js';
import { exportRnnSeq2Seq } from './rnn-export.js';

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

/** config.json's model_type of an rnn-seq2seq folder: attend's own, no transformers.js architecture. */
export const RNN_SEQ2SEQ_MODEL_TYPE = 'attend-rnn-seq2seq';

/** transformers.js tokenizer class for each attend tokenizer kind. */
const TOKENIZER_CLASSES: Record<Tokenizer['kind'], string> = {
  bpe: 'GPT2Tokenizer', // byte-level BPE, as gpt2's
  char: 'PreTrainedTokenizer', // WordLevel models: the generic tokenizer.json-driven class
  word: 'PreTrainedTokenizer',
};

/** gpt2-style config.json fields for an attend decoder-lm, plus the full config under `attend`. */
export function gpt2Config(config: ModelConfig): Record<string, unknown> {
  return {
    model_type: 'gpt2',
    architectures: ['GPT2LMHeadModel'],
    vocab_size: config.vocabSize,
    n_embd: config.dModel,
    n_head: config.numHeads,
    n_layer: config.numDecoderLayers,
    n_positions: config.maxSeqLen,
    n_ctx: config.maxSeqLen,
    n_inner: config.dFf,
    activation_function: config.activation,
    layer_norm_epsilon: config.layerNormEps,
    bos_token_id: config.bosTokenId,
    eos_token_id: config.eosTokenId,
    pad_token_id: config.padTokenId,
    tie_word_embeddings: config.tieEmbeddings,
    use_cache: true,
    attend: config,
  };
}

/** marian-style config.json fields for an attend encoder-decoder, plus the full config under `attend`. */
export function marianConfig(config: ModelConfig): Record<string, unknown> {
  return {
    model_type: 'marian',
    architectures: ['MarianMTModel'],
    is_encoder_decoder: true,
    vocab_size: config.vocabSize,
    decoder_vocab_size: config.vocabSize,
    d_model: config.dModel,
    encoder_layers: config.numEncoderLayers,
    decoder_layers: config.numDecoderLayers,
    num_hidden_layers: config.numEncoderLayers,
    encoder_attention_heads: config.numHeads,
    decoder_attention_heads: config.numHeads,
    encoder_ffn_dim: config.dFf,
    decoder_ffn_dim: config.dFf,
    max_position_embeddings: config.maxSeqLen,
    activation_function: config.activation,
    dropout: 0,
    scale_embedding: config.scaleEmbedding,
    normalize_before: config.norm === 'pre',
    share_encoder_decoder_embeddings: true,
    tie_word_embeddings: config.tieEmbeddings,
    bos_token_id: config.bosTokenId,
    eos_token_id: config.eosTokenId,
    pad_token_id: config.padTokenId,
    decoder_start_token_id: config.bosTokenId,
    forced_eos_token_id: config.eosTokenId,
    use_cache: true,
    attend: config,
  };
}

/** config.json of an rnn-seq2seq folder (attend-only model_type), with the full config under `attend`. */
export function rnnSeq2SeqConfig(config: ModelConfig): Record<string, unknown> {
  return {
    model_type: RNN_SEQ2SEQ_MODEL_TYPE,
    is_encoder_decoder: true,
    vocab_size: config.vocabSize,
    d_model: config.dModel,
    encoder_layers: config.numEncoderLayers,
    decoder_layers: config.numDecoderLayers,
    rnn_cell: config.rnnCell,
    rnn_attention: config.rnnAttention ?? 'none',
    bos_token_id: config.bosTokenId,
    eos_token_id: config.eosTokenId,
    pad_token_id: config.padTokenId,
    decoder_start_token_id: config.bosTokenId,
    attend: config,
  };
}

/** bert-style config.json fields for an attend encoder-classifier, plus the full config under `attend`. */
export function bertConfig(config: ModelConfig): Record<string, unknown> {
  return {
    model_type: 'bert',
    architectures: ['BertForSequenceClassification'],
    vocab_size: config.vocabSize,
    hidden_size: config.dModel,
    num_attention_heads: config.numHeads,
    num_hidden_layers: config.numEncoderLayers,
    intermediate_size: config.dFf,
    max_position_embeddings: config.maxSeqLen,
    hidden_act: config.activation,
    layer_norm_eps: config.layerNormEps,
    pad_token_id: config.padTokenId,
    ...labelFields(config),
    attend: config,
  };
}

/** The label fields of a classifier's config.json: LABEL_0 … LABEL_{n−1}. */
function labelFields(config: ModelConfig): Record<string, unknown> {
  const labels = Array.from({ length: config.numClasses }, (_, i) => `LABEL_${i}`);
  return {
    num_labels: config.numClasses,
    id2label: Object.fromEntries(labels.map((l, i) => [String(i), l])),
    label2id: Object.fromEntries(labels.map((l, i) => [l, i])),
  };
}

/** vit-style config.json fields for an attend vit-classifier, plus the full config under `attend`. */
export function vitConfig(config: ModelConfig): Record<string, unknown> {
  return {
    model_type: 'vit',
    architectures: ['ViTForImageClassification'],
    hidden_size: config.dModel,
    num_attention_heads: config.numHeads,
    num_hidden_layers: config.numEncoderLayers,
    intermediate_size: config.dFf,
    hidden_act: config.activation,
    layer_norm_eps: config.layerNormEps,
    image_size: config.imageSize,
    patch_size: config.patchSize,
    num_channels: config.numChannels,
    ...labelFields(config),
    attend: config,
  };
}

/** preprocessor_config.json of a vit folder: no resizing, rescaling or normalising outside the graph. */
export function vitPreprocessorConfig(config: ModelConfig): Record<string, unknown> {
  return {
    image_processor_type: 'ViTImageProcessor',
    do_resize: false,
    size: { height: config.imageSize, width: config.imageSize },
    do_rescale: false,
    do_normalize: false,
  };
}

/** tokenizer_config.json: the class transformers.js should build, special tokens, max length. */
export function tokenizerConfig(config: ModelConfig, tokenizer: Tokenizer): Record<string, unknown> {
  const token = (id: number): string => tokenizer.idsToTokens([id])[0]!;
  return {
    tokenizer_class: TOKENIZER_CLASSES[tokenizer.kind],
    bos_token: token(config.bosTokenId),
    eos_token: token(config.eosTokenId),
    pad_token: token(config.padTokenId),
    unk_token: token(tokenizer.specialTokenIds.unk),
    model_max_length: config.maxSeqLen,
    add_bos_token: false,
    add_eos_token: false,
    clean_up_tokenization_spaces: false,
  };
}

export function generationConfig(config: ModelConfig): Record<string, unknown> {
  return {
    ...(config.preset === 'encoder-decoder' || config.preset === 'rnn-seq2seq' ? { decoder_start_token_id: config.bosTokenId } : {}),
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
    if (!bytes) throw new CheckpointError(`${where(name)}: missing${name === 'tokenizer.json' ? ' (an export folder needs the tokenizer)' : ''}`);
    return bytes;
  };
  let config: ModelConfig;
  try {
    config = parseModelConfig(utf8Text(read('config.json'), where('config.json')), where('config.json'));
  } catch (error) {
    if (error instanceof ConfigError) throw new CheckpointError(error.message);
    throw error;
  }
  const json = (x: unknown): Uint8Array => new TextEncoder().encode(`${JSON.stringify(x, null, 2)}\n`);
  if (config.preset === 'vit-classifier') {
    const onnx = exportCheckpointFiles(files, { dir: options.dir, withAttention: options.withAttention ?? false });
    return { [EXPORT_FILES.config]: json(vitConfig(config)), [EXPORT_FILES.preprocessorConfig]: json(vitPreprocessorConfig(config)), [EXPORT_FILES.model]: onnx };
  }
  const tokenizerBytes = read('tokenizer.json');
  const tokenizer = tokenizerFromBytes(tokenizerBytes, where('tokenizer.json'));
  if (tokenizer.vocabSize !== config.vocabSize) {
    throw new CheckpointError(`${where('tokenizer.json')}: ${tokenizer.vocabSize} tokens but config.json has vocabSize ${config.vocabSize}`);
  }
  const tokenizerFiles = {
    [EXPORT_FILES.tokenizer]: tokenizerBytes,
    [EXPORT_FILES.tokenizerConfig]: json(tokenizerConfig(config, tokenizer)),
  };
  if (config.preset === 'encoder-classifier') {
    const onnx = exportCheckpointFiles(files, { dir: options.dir, withAttention: options.withAttention ?? false });
    return { [EXPORT_FILES.config]: json(bertConfig(config)), ...tokenizerFiles, [EXPORT_FILES.model]: onnx };
  }
  const common = { ...tokenizerFiles, [EXPORT_FILES.generationConfig]: json(generationConfig(config)) };
  if (config.preset === 'rnn-seq2seq') {
    const source = where('model.safetensors');
    const { encoder, decoder } = exportRnnSeq2Seq(config, parseSafetensors(read('model.safetensors'), { source }).tensors, { source });
    return { [EXPORT_FILES.config]: json(rnnSeq2SeqConfig(config)), ...common, [RNN_SEQ2SEQ_FILES.encoder]: encoder, [RNN_SEQ2SEQ_FILES.decoder]: decoder };
  }
  if (config.preset === 'encoder-decoder') {
    const { encoder, decoder } = exportSeq2SeqCheckpointFiles(files, { dir: options.dir, withAttention: options.withAttention ?? false });
    return { [EXPORT_FILES.config]: json(marianConfig(config)), ...common, [SEQ2SEQ_FILES.encoder]: encoder, [SEQ2SEQ_FILES.decoder]: decoder };
  }
  const onnx = exportCheckpointFiles(files, { dir: options.dir, kvCache: true, withAttention: options.withAttention ?? false });
  return { [EXPORT_FILES.config]: json(gpt2Config(config)), ...common, [EXPORT_FILES.model]: onnx };
}

/**
 * The attend ModelConfig of an export folder's config.json (its `attend` key); `source`
 * names the file in errors.
 */
export function readFolderConfig(bytes: Uint8Array, source: string): ModelConfig {
  let json: unknown;
  const text = utf8Text(bytes, source);
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new CheckpointError(`${source}: not JSON (${(error as Error).message.replace(/\s+/g, ' ')})`);
  }
  const attend = typeof json === 'object' && json !== null ? (json as Record<string, unknown>).attend : undefined;
  if (attend === undefined) throw new CheckpointError(`${source}: no 'attend' key (not an attend export folder)`);
  try {
    return parseModelConfig(JSON.stringify(attend), `${source} 'attend'`);
  } catch (error) {
    throw new CheckpointError((error as Error).message);
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
