// The parts of `attend attention` that several kinds share: the AttentionSet a figure is drawn
// from, self-attention of one text, the maps of a decoding read from core's per-step outputs,
// a vit-classifier's patch-grid maps, and reading attention tensors of either backend.

import { clsAttentionGrid, flatAttentionRollout, type DecodedRow, type GreedyOptions, type RowOutputs, type TokenModelConfig, type Tokenizer, type VitClassifierConfig } from '@attend/core';
import { classifications, type Classification, type OutputTensor } from '@attend/runtime-onnx';
import type { AttendModel, TokenBatch } from '@attend/transformer';
import { CliError } from '../errors.js';
import { tokenBatch } from '../runner.js';
import type { CliKind, KindAttention } from './kind.js';

/** One kind of attention: per layer, the weights [heads, queries, keys] of the input. */
export interface AttentionSet {
  /** 'cross', 'encoder', 'decoder' (seq2seq) or 'self'. */
  name: string;
  title: string;
  queryTokens: string[];
  keyTokens: string[];
  queryAxis: string;
  keyAxis: string;
  numHeads: number;
  /** layers[l] = weights [H, Q, K] row-major. */
  layers: Float32Array[];
  /** Title of the panel of layer l, head h; default `layer l · head h`. */
  panelTitle?: (layer: number, head: number) => string;
  /** The weight shown darkest (figures and terminal); default 1. */
  maxWeight?: number;
}

/** The token ids of a translation's maps: one decoder query per step (bos + output), producing the output and eos when it ended with it. */
export interface DecodedSequences {
  source: number[];
  /** Decoder input: bos + output. */
  target: number[];
  /** The token each decoder query produced. */
  produced: number[];
}

/** Self-attention of one text (`causal` for an LM): one panel per layer and head. */
export function selfAttentionSets(tokenizer: Tokenizer, source: number[], numHeads: number, layers: Float32Array[], causal: boolean): AttentionSet[] {
  const input = tokenizer.idsToTokens(source);
  return [{ name: 'self', title: `${causal ? 'causal ' : ''}self-attention`, queryTokens: input, keyTokens: input, queryAxis: 'query token', keyAxis: 'key token', numHeads, layers }];
}

/** The cross-attention set of a translation (output × source tokens, the alignment). */
export function crossAttentionSet(tokenizer: Tokenizer, seq: DecodedSequences, title: string, numHeads: number, layers: Float32Array[]): AttentionSet {
  return { name: 'cross', title, queryTokens: tokenizer.idsToTokens(seq.produced), keyTokens: tokenizer.idsToTokens(seq.source), queryAxis: 'output token', keyAxis: 'source token', numHeads, layers };
}

/**
 * A vit-classifier's maps from each layer's attention [H, T, T] (T = N + 1, CLS first): the CLS
 * token's attention over the patch grid per layer and head, its attention rollout through all
 * the layers, and the full self-attention between CLS and the patches (tokens `r{row}c{col}`).
 */
export function imageAttentionSets(config: VitClassifierConfig, layers: Float32Array[]): AttentionSet[] {
  const H = config.numHeads;
  const G = config.imageSize / config.patchSize;
  const T = G * G + 1;
  const rows = Array.from({ length: G }, (_, r) => `r${r}`);
  const cols = Array.from({ length: G }, (_, c) => String(c));
  const grid = { queryTokens: rows, keyTokens: cols, queryAxis: 'patch row', keyAxis: 'patch column' };
  // Per head, the CLS row without CLS itself, which reads as the patch grid.
  const cls = layers.map((a) => {
    const out = new Float32Array(H * G * G);
    for (let h = 0; h < H; h++) out.set(a.subarray(h * T * T + 1, h * T * T + T), h * G * G);
    return out;
  });
  const rollout = Float32Array.from(clsAttentionGrid(flatAttentionRollout(layers, H)).flat());
  const largest = (xs: Float32Array[]) => Math.max(...xs.map((x) => x.reduce((m, v) => Math.max(m, v), 0)));
  const tokens = ['CLS', ...rows.flatMap((r) => cols.map((c) => `${r}c${c}`))];
  return [
    { name: 'cls', title: `CLS attention over the ${G}×${G} patch grid`, ...grid, numHeads: H, layers: cls, maxWeight: largest(cls) },
    { name: 'rollout', title: 'attention rollout of the CLS token (Abnar & Zuidema, 2020)', ...grid, numHeads: 1, layers: [rollout], panelTitle: () => `all ${layers.length} layers`, maxWeight: largest([rollout]) },
    { name: 'self', title: 'self-attention (CLS and patches)', queryTokens: tokens, keyTokens: tokens, queryAxis: 'query token', keyAxis: 'key token', numHeads: H, layers },
  ];
}

/** The predicted class of a classifier and its probability, from the logits of one input. */
export function predicted(logits: Float32Array, numClasses: number): string {
  const [{ label, probabilities }] = classifications(logits, 1, numClasses) as [Classification];
  return `class ${label} (p = ${probabilities[label]!.toFixed(3)})`;
}

/** The values of tfjs tensors, each disposed once read. */
export function readTensors(ts: readonly { dataSync(): unknown; dispose(): void }[] = []): Float32Array[] {
  return ts.map((t) => {
    const values = Float32Array.from(t.dataSync() as Float32Array);
    t.dispose();
    return values;
  });
}

/** Self-attention of one text from a checkpoint: one tfjs forward pass with its attention. */
export function checkpointSelfAttention(model: AttendModel, batch: TokenBatch, tokenizer: Tokenizer, numHeads: number, causal: boolean): KindAttention {
  const { logits, attention } = model.forward(batch, undefined, { returnAttention: true });
  logits.dispose();
  const layers = readTensors(causal ? attention?.decoderSelf : attention?.encoder);
  return { sets: selfAttentionSets(tokenizer, Array.from(batch.ids), numHeads, layers, causal) };
}

/** The attention outputs `{prefix}.{i}` of a graph (or a tfjs translator's encoder), i < count; a one-line error when it has none. */
export function exportLayers(dir: string, attentions: Readonly<Record<string, { data: Float32Array }>>, prefix: string, count: number): Float32Array[] {
  return Array.from({ length: count }, (_, i) => {
    const t = attentions[`${prefix}.${i}`];
    if (!t) throw noAttention(dir, `${prefix}.${i}`);
    return t.data;
  });
}

/** The one-line error for an export folder `dir` without the attention output `name`. */
export function noAttention(dir: string, name: string): CliError {
  return new CliError(`${dir}: the export has no attention outputs ('${name}'); export it with --with-attention, or pass the checkpoint`);
}

/** Greedy decoding of one input row, as long as maxSeqLen allows. */
export function greedyOptions(config: TokenModelConfig): GreedyOptions {
  return { batchSize: 1, vocabSize: config.vocabSize, bosTokenId: config.bosTokenId, eosTokenId: config.eosTokenId, maxNewTokens: config.maxSeqLen - 1 };
}

/** The sequences of one decoded row: one decoder query per step (bos + output), producing the output and eos when it ended with it. */
export function decoded(config: TokenModelConfig, source: number[], row: DecodedRow): DecodedSequences {
  const target = [config.bosTokenId, ...row.ids].slice(0, row.steps.length);
  const produced = row.steps.length > row.ids.length ? [...row.ids, config.eosTokenId] : row.ids;
  return { source, target, produced };
}

/**
 * One attention output over the steps of a decoding, as the map [H, Q, K]: step q's rows
 * ([H, keys] or [keys], keys ≤ K: a decoder's self-attention grows by one key per step) at
 * query q, zero beyond their keys. `where` names the model in the error when a step lacks it.
 */
export function stackSteps(where: string, steps: RowOutputs[], name: string, K: number): Float32Array {
  const Q = steps.length;
  const H = steps[0]?.[name]?.dims.length === 2 ? steps[0][name].dims[0]! : 1;
  const out = new Float32Array(H * Q * K);
  steps.forEach((outputs, q) => {
    const t = outputs[name];
    if (!t) throw noAttention(where, name);
    const keys = t.dims.at(-1)!;
    for (let h = 0; h < H; h++) out.set(t.data.subarray(h * keys, (h + 1) * keys), (h * Q + q) * K);
  });
  return out;
}

/**
 * The `attention` of a kind whose maps are the self-attention of one text (causal for an LM):
 * one tfjs forward pass, or the export's `attentions.{l}` outputs for the config's `layers`.
 */
export function textSelfAttention<C extends TokenModelConfig & { numHeads: number }>(layers: (config: C) => number, causal: boolean): CliKind<C>['attention'] {
  return {
    checkpoint: async (_t, model, config, tokenizer, text) => checkpointSelfAttention(model, tokenBatch(tokenizer!, [text], config.maxSeqLen), tokenizer!, config.numHeads, causal),
    async export(dir, config, text) {
      const rt = await import('@attend/runtime-onnx/node');
      const { model, tokenizer, release } = await rt.loadExportFolder(dir);
      try {
        const batch = tokenBatch(tokenizer, [text], config.maxSeqLen);
        const out = await model.run({ inputIds: { data: batch.ids, batchSize: 1, seqLen: batch.seqLen } });
        return { sets: selfAttentionSets(tokenizer, Array.from(batch.ids), config.numHeads, exportLayers(dir, out.attentions, 'attentions', layers(config)), causal) };
      } finally {
        await release();
      }
    },
  };
}
