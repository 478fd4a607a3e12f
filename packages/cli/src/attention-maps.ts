// The attention weights of one input, from a checkpoint (tfjs forward with returnAttention) or
// from an export folder made with --with-attention (onnxruntime-node attention outputs; an
// rnn-seq2seq export always has its attention weights as outputs). For an
// encoder–decoder the input is translated greedily, and the maps are those of the decoder
// producing its output: cross-attention (output × source tokens, the alignment), decoder
// self-attention and encoder self-attention. An export's decoder maps are the per-step outputs
// of core's decoding loop itself (one row per generated token); a checkpoint's come from one
// teacher-forced forward over the translation. A vit-classifier's input is one CSV line of
// pixel values; its maps are the CLS token's attention over the patch grid, its rollout through
// the layers, and the full self-attention. Other presets have self-attention only.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { numEncoderLayers, numDecoderLayers, modelTask, clsAttentionGrid, decodeRows, flatAttentionRollout, tokenizerFromJSON, type DecodedRow, type GreedyOptions, type ModelConfig, type RowOutputs, type Tokenizer, numAttentionHeads, configAs, hasTokens, type GlimpseClassifierConfig, type VitClassifierConfig, type TokenModelConfig } from '@attend/core';
import { classifications, type Classification, type OutputTensor } from '@attend/runtime-onnx';
import { CliError } from './errors.js';
import { folderKind } from './model-folder.js';
import { imageInputs } from './inputs.js';
import { tokenBatch } from './runner.js';

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

export interface InputAttention {
  config: ModelConfig;
  /** A glimpse-classifier's glimpses on the input canvas (then `sets` is empty). */
  glimpses?: { config: GlimpseClassifierConfig; pixels: Float32Array; locations: [number, number][] };
  /** The decoded output (encoder–decoder) or the predicted class (vit-classifier), else undefined. */
  output?: string;
  /** The set to show first: cross-attention for the encoder–decoder, else self-attention. */
  sets: AttentionSet[];
}

interface Sequences {
  source: number[];
  /** Decoder input: bos + output (encoder–decoder). */
  target?: number[];
  /** The token each decoder query produced (encoder–decoder): the output, and eos when decoding ended with it. */
  produced?: number[];
}

function setsOf(config: ModelConfig, tokenizer: Tokenizer, seq: Sequences, maps: { encoder: Float32Array[]; decoder: Float32Array[]; cross: Float32Array[] }): AttentionSet[] {
  const tokens = (ids: number[]) => tokenizer.idsToTokens(ids);
  const H = numAttentionHeads(config);
  if (config.preset === 'encoder-decoder' || config.preset === 'rnn-seq2seq') {
    const target = seq.target!;
    // The query at decoder position t produces output token t.
    const produced = tokens(seq.produced!);
    const inputs = tokens(target);
    const source = tokens(seq.source);
    if (config.preset === 'rnn-seq2seq') {
      // One attention of the GRU decoder over the encoder states (Bahdanau et al.'s figure 3).
      return [{ name: 'cross', title: `${config.rnnAttention} attention (output × source)`, queryTokens: produced, keyTokens: source, queryAxis: 'output token', keyAxis: 'source token', numHeads: 1, layers: maps.cross }];
    }
    return [
      { name: 'cross', title: 'cross-attention (output × source)', queryTokens: produced, keyTokens: source, queryAxis: 'output token', keyAxis: 'source token', numHeads: H, layers: maps.cross },
      { name: 'decoder', title: 'decoder self-attention', queryTokens: produced, keyTokens: inputs, queryAxis: 'output token', keyAxis: 'decoder input token', numHeads: H, layers: maps.decoder },
      { name: 'encoder', title: 'encoder self-attention', queryTokens: source, keyTokens: source, queryAxis: 'source token', keyAxis: 'source token', numHeads: H, layers: maps.encoder },
    ];
  }
  const input = tokens(seq.source);
  const causal = modelTask(config) === 'text-generation';
  const layers = causal ? maps.decoder : maps.encoder;
  return [{ name: 'self', title: `${causal ? 'causal ' : ''}self-attention`, queryTokens: input, keyTokens: input, queryAxis: 'query token', keyAxis: 'key token', numHeads: H, layers }];
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

/** The predicted class of a vit-classifier and its probability, from the logits of one image. */
function predicted(logits: Float32Array, numClasses: number): string {
  const [{ label, probabilities }] = classifications(logits, 1, numClasses) as [Classification];
  return `class ${label} (p = ${probabilities[label]!.toFixed(3)})`;
}

/** The attention maps of `text` (a vit-classifier: one CSV line of pixel values) under the model in `dir`. */
export async function inputAttention(dir: string, text: string): Promise<InputAttention> {
  return (await folderKind(dir)) === 'export' ? fromExport(dir, text) : fromCheckpoint(dir, text);
}

async function fromCheckpoint(dir: string, text: string): Promise<InputAttention> {
  const { GlimpseModel, loadCheckpoint, setupBackend, translate } = await import('@attend/transformer');
  await setupBackend();
  const { model, config, tokenizer: tokenizerJson } = await loadCheckpoint(dir);
  try {
    if (model instanceof GlimpseModel) {
      const { imageTrainBatch } = await import('@attend/transformer');
      const c = model.config;
      const { pixels } = imageInputs([text], c);
      const r = model.rollout(imageTrainBatch(pixels, new Int32Array(1), c).input, false);
      const output = predicted(r.logits.dataSync() as Float32Array, c.numClasses);
      const locations = (r.locations.arraySync() as [number, number][][])[0]!;
      for (const t of [r.logits, r.locations, r.means, r.baselines]) t.dispose();
      return { config, output, sets: [], glimpses: { config: c, pixels, locations } };
    }
    if (!hasTokens(config)) {
      const vit = configAs(config, ['vit-classifier'], 'attention maps');
      const { imageTrainBatch } = await import('@attend/transformer');
      const { pixels } = imageInputs([text], vit);
      const { logits, attention } = model.forward(imageTrainBatch(pixels, new Int32Array(1), vit).input, undefined, { returnAttention: true });
      const output = predicted(logits.dataSync() as Float32Array, vit.numClasses);
      logits.dispose();
      const layers = attention!.encoder.map((t) => {
        const values = Float32Array.from(t.dataSync() as Float32Array);
        t.dispose();
        return values;
      });
      return { config, output, sets: imageAttentionSets(vit, layers) };
    }
    if (tokenizerJson === undefined) throw new CliError(`${dir}: no tokenizer.json; cannot encode text for this checkpoint`);
    const tokenizer = tokenizerFromJSON(tokenizerJson, join(dir, 'tokenizer.json'));
    const batch = tokenBatch(tokenizer, [text], config.maxSeqLen);
    let target: number[] | undefined;
    let output: string | undefined;
    if (config.preset === 'encoder-decoder' || config.preset === 'rnn-seq2seq') {
      const ids = (await translate(model, batch, config.maxSeqLen - 1))[0]!;
      output = tokenizer.decode(ids);
      target = [config.bosTokenId, ...ids].slice(0, config.maxSeqLen);
    }
    const targetBatch = target ? { ids: Int32Array.from(target), batchSize: 1, seqLen: target.length } : undefined;
    const { logits, attention } = model.forward(batch, targetBatch, { returnAttention: true });
    logits.dispose();
    const read = (ts: { dataSync(): unknown; dispose(): void }[] = []) =>
      ts.map((t) => {
        const values = Float32Array.from(t.dataSync() as Float32Array);
        t.dispose();
        return values;
      });
    const maps = { encoder: read(attention?.encoder), decoder: read(attention?.decoderSelf), cross: read(attention?.cross) };
    const produced = target ? [...target.slice(1), config.eosTokenId] : undefined;
    return { config, output, sets: setsOf(config, tokenizer, { source: Array.from(batch.ids), target, produced }, maps) };
  } finally {
    model.dispose();
  }
}

async function fromExport(dir: string, text: string): Promise<InputAttention> {
  const rt = await import('@attend/runtime-onnx/node');
  const layersOf = (attentions: Record<string, OutputTensor>, prefix: string, count: number): Float32Array[] =>
    Array.from({ length: count }, (_, i) => {
      const t = attentions[`${prefix}.${i}`];
      if (!t) throw new CliError(`${dir}: the export has no attention outputs ('${prefix}.${i}'); export it with --with-attention, or pass the checkpoint`);
      return t.data;
    });
  const configPath = join(dir, 'config.json');
  const bytes = await readFile(configPath).catch(() => {
    throw new CliError(`${configPath}: missing (no such file)`);
  });
  const config = rt.readFolderConfig(new Uint8Array(bytes), configPath);
  if (!hasTokens(config)) {
    const model = await rt.loadVitFolder(dir);
    try {
      const { pixels } = imageInputs([text], config);
      const out = await model.runImages(pixels, 1);
      const output = predicted(out.logits.data, config.numClasses);
      const glimpses = out.attentions[rt.GLIMPSE_LOCATIONS];
      if (glimpses) {
        const locations = Array.from({ length: glimpses.dims[1]! }, (_, t): [number, number] => [glimpses.data[2 * t]!, glimpses.data[2 * t + 1]!]);
        return { config, output, sets: [], glimpses: { config: configAs(config, ['glimpse-classifier'], 'glimpses'), pixels, locations } };
      }
      const vit = configAs(config, ['vit-classifier'], 'attention maps');
      return { config, output, sets: imageAttentionSets(vit, layersOf(out.attentions, 'attentions', vit.numEncoderLayers)) };
    } finally {
      await model.release();
    }
  }
  if (config.preset === 'encoder-decoder') {
    const { model, tokenizer } = await rt.loadSeq2SeqFolder(dir);
    try {
      const batch = tokenBatch(tokenizer, [text], config.maxSeqLen);
      const source = { ids: batch.ids, batchSize: 1, seqLen: batch.seqLen };
      const encoded = await model.encoder.encode({ inputIds: { data: batch.ids, batchSize: 1, seqLen: batch.seqLen } });
      const memory = { states: encoded.lastHiddenState, mask: rt.encodeSourceMask(source) };
      const [row] = await decodeRows(rt.onnxSeq2SeqStepFunction(model.decoder, memory), greedyOptions(config));
      const L = config.numDecoderLayers;
      const Q = row!.steps.length;
      const maps = {
        encoder: layersOf(encoded.attentions, 'encoder_attentions', config.numEncoderLayers),
        decoder: Array.from({ length: L }, (_, l) => stackSteps(dir, row!.steps, `decoder_attentions.${l}`, Q)),
        cross: Array.from({ length: L }, (_, l) => stackSteps(dir, row!.steps, `cross_attentions.${l}`, batch.seqLen)),
      };
      return { config, output: tokenizer.decode(row!.ids), sets: setsOf(config, tokenizer, decoded(config, Array.from(batch.ids), row!), maps) };
    } finally {
      await model.encoder.release();
      await model.decoder.release();
    }
  }
  if (config.preset === 'rnn-seq2seq') {
    const { model, tokenizer } = await rt.loadRnnSeq2SeqFolder(dir);
    try {
      if ((config.rnnAttention ?? 'none') === 'none') throw new CliError(`${dir}: this rnn-seq2seq model has no attention (rnnAttention 'none')`);
      const batch = tokenBatch(tokenizer, [text], config.maxSeqLen);
      const memory = await rt.encodeRnnSource(model.encoder, batch);
      const [row] = await decodeRows(rt.onnxRnnStepFunction(model.decoder, memory), greedyOptions(config));
      const maps = { encoder: [], decoder: [], cross: [stackSteps(dir, row!.steps, 'attention', batch.seqLen)] };
      return { config, output: tokenizer.decode(row!.ids), sets: setsOf(config, tokenizer, decoded(config, Array.from(batch.ids), row!), maps) };
    } finally {
      await model.encoder.release();
      await model.decoder.release();
    }
  }
  const { model, tokenizer } = await rt.loadExportFolder(dir);
  try {
    const batch = tokenBatch(tokenizer, [text], config.maxSeqLen);
    const out = await model.run({ inputIds: { data: batch.ids, batchSize: 1, seqLen: batch.seqLen } });
    const count = numDecoderLayers(config) || numEncoderLayers(config);
    const layers = layersOf(out.attentions, 'attentions', count);
    return { config, sets: setsOf(config, tokenizer, { source: Array.from(batch.ids) }, { encoder: layers, decoder: layers, cross: [] }) };
  } finally {
    await model.release();
  }
}

/** Greedy decoding of one input row, as long as maxSeqLen allows. */
function greedyOptions(config: TokenModelConfig): GreedyOptions {
  return { batchSize: 1, vocabSize: config.vocabSize, bosTokenId: config.bosTokenId, eosTokenId: config.eosTokenId, maxNewTokens: config.maxSeqLen - 1 };
}

/** The sequences of one decoded row: one decoder query per step (bos + output), producing the output and eos when it ended with it. */
function decoded(config: TokenModelConfig, source: number[], row: DecodedRow): Sequences {
  const target = [config.bosTokenId, ...row.ids].slice(0, row.steps.length);
  const produced = row.steps.length > row.ids.length ? [...row.ids, config.eosTokenId] : row.ids;
  return { source, target, produced };
}

/**
 * One attention output over the steps of a decoding, as the map [H, Q, K]: step q's rows
 * ([H, keys] or [keys], keys ≤ K: a decoder's self-attention grows by one key per step) at
 * query q, zero beyond their keys.
 */
function stackSteps(dir: string, steps: RowOutputs[], name: string, K: number): Float32Array {
  const Q = steps.length;
  const H = steps[0]?.[name]?.dims.length === 2 ? steps[0][name].dims[0]! : 1;
  const out = new Float32Array(H * Q * K);
  steps.forEach((outputs, q) => {
    const t = outputs[name];
    if (!t) throw new CliError(`${dir}: the export has no attention outputs ('${name}'); export it with --with-attention, or pass the checkpoint`);
    const keys = t.dims.at(-1)!;
    for (let h = 0; h < H; h++) out.set(t.data.subarray(h * keys, (h + 1) * keys), (h * Q + q) * K);
  });
  return out;
}

/** The weights [Q, K] of one head of one layer, or the heads' mean when `head` is undefined. */
export function headWeights(set: AttentionSet, layer: number, head?: number): Float32Array {
  const Q = set.queryTokens.length;
  const K = set.keyTokens.length;
  const all = set.layers[layer]!;
  if (head !== undefined) return all.slice(head * Q * K, (head + 1) * Q * K);
  const mean = new Float32Array(Q * K);
  for (let h = 0; h < set.numHeads; h++) for (let i = 0; i < Q * K; i++) mean[i]! += all[h * Q * K + i]! / set.numHeads;
  return mean;
}

const SHADES = [' ', '░', '▒', '▓', '█'];

/** A compact terminal view of a [Q, K] map: one shade character pair per weight, tokens along both edges. */
export function terminalHeatmap(set: AttentionSet, weights: Float32Array): string {
  const top = set.maxWeight ?? 1;
  const show = (t: string) => (t === ' ' ? '␣' : t);
  const labels = set.queryTokens.map(show);
  const width = Math.max(...labels.map((l) => [...l].length));
  const header = `${' '.repeat(width)} ${set.keyTokens.map((t) => [...show(t)][0]!.padEnd(2)).join('')}`;
  const K = set.keyTokens.length;
  const rows = labels.map((label, q) => {
    const cells = Array.from({ length: K }, (_, k) => {
      const w = weights[q * K + k]! / top;
      const shade = SHADES[Math.min(SHADES.length - 1, Math.floor(w * SHADES.length))]!;
      return shade.repeat(2);
    });
    return `${label.padStart(width)} ${cells.join('')}`;
  });
  return [header, ...rows].join('\n');
}
