// The encoder-decoder's export: its two graphs in the Hugging Face Optimum / transformers.js
// marian layout (the Transformer encoder, and the merged decoder with self- and
// cross-attention caches, both from ForwardGraph), and its entry in the runtime registry.

import { CHECKPOINT_FILES, concatBytes, ConfigError, type EncoderDecoderConfig, type ModelConfig, type NamedTensor } from '@attend/core';
import type { ExportOptions } from '../../export.js';
import { EXPORT_FILES, generationConfig } from '../../folder-files.js';
import { encodeGraphParts, readCheckpointFiles } from '../../graph-file.js';
import type { GraphKind } from '../../graph-io.js';
import { ForwardGraph } from '../../transformer-graph.js';
import { WeightReader } from '../../weights.js';
import { Seq2SeqDecoderSession, Seq2SeqEncoderSession, Seq2SeqForwardSession, seq2seqTranslator } from './session.js';
import { LAYER_ATTENTIONS, TEXT_FILES, type RuntimeKind } from '../kind.js';

/** Paths of the two graphs of a seq2seq export folder (the other files as in EXPORT_FILES). */
export const SEQ2SEQ_FILES = {
  encoder: 'onnx/encoder_model.onnx',
  decoder: 'onnx/decoder_model_merged.onnx',
} as const;

/** The two graphs of a seq2seq export, as ONNX ModelProto bytes. */
export interface Seq2SeqExport {
  /** `onnx/encoder_model.onnx`: input_ids, attention_mask → last_hidden_state. */
  encoder: Uint8Array;
  /** `onnx/decoder_model_merged.onnx`: one decoder step with self- and cross-attention caches. */
  decoder: Uint8Array;
}

/**
 * The encoder–decoder export in the Hugging Face Optimum / transformers.js marian/bart layout:
 *
 *   encoder_model.onnx          input_ids [B, S], attention_mask [B, S] → last_hidden_state [B, S, d]
 *                               (+ encoder_attentions.{i} with withAttention)
 *   decoder_model_merged.onnx   input_ids [B, T] (new decoder tokens), encoder_attention_mask [B, S],
 *                               encoder_hidden_states [B, S, d],
 *                               past_key_values.{i}.decoder.key|value [B, H, P, D],
 *                               past_key_values.{i}.encoder.key|value [B, H, S', D],
 *                               use_cache_branch bool [1]
 *                               → logits [B, T, V], present.{i}.decoder.key|value [B, H, P + T, D],
 *                               present.{i}.encoder.key|value [B, H, S, D]
 *                               (+ decoder_attentions.{i}, cross_attentions.{i} with withAttention)
 *
 * In the merged decoder an ONNX `If` on use_cache_branch picks the cross-attention keys and
 * values: false (the first step) projects encoder_hidden_states (S' may be 0 then), true passes
 * the encoder past through (encoder_hidden_states is then not read, but must be fed). The
 * decoder's positions are P … P + T − 1 with P the decoder past length; decoder rows are never
 * padded (generation feeds equally long rows), the source may be right-padded
 * (encoder_attention_mask). RoPE and ALiBi apply to self-attention only, as in the tfjs model.
 */
export function exportSeq2Seq(config: ModelConfig, tensors: Record<string, NamedTensor>, options: Omit<ExportOptions, 'kvCache'> = {}): Seq2SeqExport {
  const { encoder, decoder } = exportSeq2SeqParts(config, tensors, options);
  return { encoder: concatBytes(encoder), decoder: concatBytes(decoder) };
}

/** exportSeq2Seq's two graphs as parts whose large weights are views (graph-file.ts `encodeGraphParts`): for writing to files. */
function exportSeq2SeqParts(config: ModelConfig, tensors: Record<string, NamedTensor>, options: Omit<ExportOptions, 'kvCache'>): { encoder: Uint8Array[]; decoder: Uint8Array[] } {
  if (config.preset !== 'encoder-decoder') throw new ConfigError('preset', `the seq2seq export is for 'encoder-decoder', got '${config.preset}'`);
  const weights = new WeightReader(tensors, options.source ?? CHECKPOINT_FILES.weights);
  const withAttention = options.withAttention ?? false;
  const encode = (graph: GraphKind, build: (f: ForwardGraph<EncoderDecoderConfig>) => void): Uint8Array[] =>
    encodeGraphParts(config, graph, `attend-${config.preset}-${graph}`, (g) => build(new ForwardGraph(config, weights, g)), options.optimize ?? false);
  const encoder = encode('seq2seq-encoder', (f) => f.buildSeq2SeqEncoder(withAttention));
  const decoder = encode('seq2seq-decoder', (f) => f.buildSeq2SeqDecoder(withAttention));
  weights.checkAllUsed();
  return { encoder, decoder };
}

/** exportSeq2Seq from checkpoint files held in memory (`config.json`, `model.safetensors`). */
export function exportSeq2SeqCheckpointFiles(files: Record<string, Uint8Array>, options: Omit<ExportOptions, 'kvCache'> & { dir?: string } = {}): Seq2SeqExport {
  const { config, tensors, source } = readCheckpointFiles(files, options.dir);
  return exportSeq2Seq(config, tensors, { ...options, source });
}

export const ENCODER_DECODER: RuntimeKind<EncoderDecoderConfig> = {
  layout: {
    graphs: {
      encoder: { file: SEQ2SEQ_FILES.encoder, graph: 'seq2seq-encoder', attentions: LAYER_ATTENTIONS },
      decoder: { file: SEQ2SEQ_FILES.decoder, graph: 'seq2seq-decoder', attentions: LAYER_ATTENTIONS },
    },
    tokenizer: true,
    files: [],
    transformersJsFiles: TEXT_FILES,
  },
  sessions: { forward: Seq2SeqForwardSession, 'seq2seq-encoder': Seq2SeqEncoderSession, 'seq2seq-decoder': Seq2SeqDecoderSession },
  forward: { forward: (config, weights, g, withAttention) => new ForwardGraph(config, weights, g).buildEncoderDecoder(withAttention) },
  exportGraphs: (_config, { files, dir, withAttention, optimize }) => {
    const { config, tensors, source } = readCheckpointFiles(files, dir);
    const { encoder, decoder } = exportSeq2SeqParts(config, tensors, { withAttention, optimize, source });
    return { [SEQ2SEQ_FILES.encoder]: encoder, [SEQ2SEQ_FILES.decoder]: decoder };
  },
  folderJson: (config) => ({ [EXPORT_FILES.generationConfig]: generationConfig(config) }),
  translator: seq2seqTranslator,
};
