// The graph I/O contract of attend's ONNX exports: what the exporter writes and the sessions
// read — the producer and metadata keys, the graph kinds, the names of the cache inputs and
// outputs (Hugging Face Optimum / transformers.js conventions) and the inputs of each graph.

import { numDecoderLayers, type ModelConfig, type Preset, type RnnSeq2SeqConfig } from '@attend/core';

export const PRODUCER_NAME = 'attend';
export const PRODUCER_VERSION = '0.1.0';
/** ModelProto.metadata_props keys written by the exporter. */
export const METADATA_KEYS = { config: 'attend.config', graph: 'attend.graph' } as const;
/**
 * Values of the `attend.graph` metadata: the plain forward graph, the decoder-lm KV-cache graph,
 * the two graphs of a seq2seq export (encoder; merged decoder with caches, see exportSeq2Seq),
 * the two graphs of an rnn-seq2seq export (encoder; one decoder step, see exportRnnSeq2Seq), or
 * the two of an image-captioner export (see exportCaptioner). 'decoder-shared-cache' is the
 * decoder-lm KV-cache graph over a cache of maxSeqLen positions that each call updates in place
 * (kv-cache.ts).
 */
export type GraphKind =
  | 'forward' | 'decoder-with-past' | 'decoder-shared-cache' | 'seq2seq-encoder' | 'seq2seq-decoder' | 'rnn-seq2seq-encoder' | 'rnn-seq2seq-decoder' | 'image-captioner-encoder' | 'image-captioner-decoder'
  // The vision-encoder-decoder's encoder_model.onnx (pixel_values → last_hidden_state) and its merged decoder (a seq2seq-decoder without encoder_attention_mask).
  | 'vision-encoder' | 'vision-decoder';

/** The output every graph of a kind has: logits, or an encoder's last_hidden_state. */
const MAIN_OUTPUT: { readonly [G in GraphKind]: string } = {
  forward: 'logits',
  'decoder-with-past': 'logits',
  'decoder-shared-cache': 'logits',
  'seq2seq-encoder': 'last_hidden_state',
  'seq2seq-decoder': 'logits',
  'rnn-seq2seq-encoder': 'last_hidden_state',
  'rnn-seq2seq-decoder': 'logits',
  'image-captioner-encoder': 'last_hidden_state',
  'image-captioner-decoder': 'logits',
  'vision-encoder': 'last_hidden_state',
  'vision-decoder': 'logits',
};

/** Every graph kind. */
export const GRAPH_KINDS = Object.keys(MAIN_OUTPUT) as GraphKind[];

/** The output every graph of kind `graph` has (what tells an attend graph from a foreign one). */
export function graphMainOutput(graph: GraphKind): string {
  return MAIN_OUTPUT[graph];
}

/** Name of the past key or value input of `layer`, and of the matching present output. */
export function pastName(layer: number, part: 'key' | 'value'): string {
  return `past_key_values.${layer}.${part}`;
}
export function presentName(layer: number, part: 'key' | 'value'): string {
  return `present.${layer}.${part}`;
}
/**
 * Output of the shared-cache graph: the keys and values of the new tokens alone, every layer's
 * in one tensor [B, T, L·w], so that a call fetches one output for them, not 2·L. Per layer a
 * block of w columns, its GroupQueryAttention's inputs: its keys [B, T, H·D], then its values
 * (w = 2·H·D, RoPE models), or its packed queries, keys and values (w = 3·H·D).
 */
export const NEW_KEY_VALUES = 'new_key_values';

/** Past input of a seq2seq decoder layer: `past_key_values.{i}.decoder|encoder.key|value`. */
export function seq2seqPastName(layer: number, cache: 'decoder' | 'encoder', part: 'key' | 'value'): string {
  return `past_key_values.${layer}.${cache}.${part}`;
}
export function seq2seqPresentName(layer: number, cache: 'decoder' | 'encoder', part: 'key' | 'value'): string {
  return `present.${layer}.${cache}.${part}`;
}

const TOKENS_IN = ['input_ids', 'attention_mask'] as const;

/** The inputs of each kind's forward graph (`exportForward`'s 'forward'). */
const FORWARD_INPUTS: { readonly [P in Preset]: readonly string[] } = {
  'encoder-classifier': TOKENS_IN,
  'decoder-lm': TOKENS_IN,
  'encoder-decoder': [...TOKENS_IN, 'decoder_input_ids', 'decoder_attention_mask'],
  'rnn-seq2seq': TOKENS_IN,
  'vit-classifier': ['pixel_values'],
  'canvas-classifier': ['pixel_values'],
  'stn-classifier': ['pixel_values'],
  'glimpse-classifier': ['pixel_values'],
  // Its graphs are the image encoder and the decoder step (graph kinds above); the encoder reads the image.
  'image-captioner': ['pixel_values'],
  'vision-encoder-decoder': ['pixel_values'],
};

/** Names of the inputs of the forward graph of each preset (int64 ids and masks; vit: float32 pixel_values), or of `graph`. */
export function forwardInputNames(config: ModelConfig, graph: GraphKind = 'forward'): string[] {
  if (graph === 'seq2seq-encoder' || graph === 'rnn-seq2seq-encoder') return ['input_ids', 'attention_mask'];
  if (graph === 'image-captioner-encoder' || graph === 'vision-encoder') return ['pixel_values'];
  if (graph === 'image-captioner-decoder') return ['input_ids', 'encoder_hidden_states', 'hidden_state', 'cell_state'];
  if (graph === 'rnn-seq2seq-decoder') {
    const rnn = config as Partial<RnnSeq2SeqConfig>; // another kind has neither field
    const feeding = rnn.rnnAttention !== undefined && rnn.rnnAttention !== 'none' && rnn.rnnAttention !== 'additive';
    return ['input_ids', 'encoder_hidden_states', 'encoder_attention_mask', 'hidden_state', ...(rnn.rnnCell === 'lstm' ? ['cell_state'] : []), ...(feeding ? ['attentional_state'] : [])];
  }
  if (graph === 'seq2seq-decoder' || graph === 'vision-decoder') {
    const past = Array.from({ length: numDecoderLayers(config) }, (_, i) =>
      (['decoder', 'encoder'] as const).flatMap((cache) => [seq2seqPastName(i, cache, 'key'), seq2seqPastName(i, cache, 'value')]),
    ).flat();
    return ['input_ids', ...(graph === 'seq2seq-decoder' ? ['encoder_attention_mask'] : []), 'encoder_hidden_states', ...past, 'use_cache_branch'];
  }
  if (graph === 'decoder-with-past' || graph === 'decoder-shared-cache') {
    const past = Array.from({ length: numDecoderLayers(config) }, (_, i) => [pastName(i, 'key'), pastName(i, 'value')]).flat();
    return ['input_ids', 'attention_mask', 'position_ids', ...past];
  }
  const typed = 'typeVocabSize' in config && config.typeVocabSize > 0; // BERT's token types
  return [...FORWARD_INPUTS[config.preset], ...(typed ? ['token_type_ids'] : [])];
}

