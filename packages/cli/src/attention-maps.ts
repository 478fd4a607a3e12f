// The attention weights of one input, from a checkpoint (tfjs forward with returnAttention) or
// from an export folder made with --with-attention (onnxruntime-node attention outputs; an
// rnn-seq2seq export always has its attention weights as outputs). For an
// encoder–decoder the input is translated greedily, and the maps are those of the decoder
// producing its output: cross-attention (output × source tokens, the alignment), decoder
// self-attention and encoder self-attention. An export's decoder maps are the per-step outputs
// of core's decoding loop itself (one row per generated token); a checkpoint's come from one
// teacher-forced forward over the translation. A vit-classifier's input is one CSV line of
// pixel values; its maps are the CLS token's attention over the patch grid, its rollout through
// the layers, and the full self-attention. Other presets have self-attention only. Each kind's
// maps are its CliKind's `attention` (models/<kind>.ts).

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { hasTokens, tokenizerFromJSON, type ModelConfig } from '@attend/core';
import { CliError } from './errors.js';
import { checkHardInference } from './hard-inference.js';
import { folderKind } from './model-folder.js';
import type { AttentionSet } from './models/attention.js';
import type { CaptionPick, KindAttention } from './models/kind.js';
import { cliKind } from './models/registry.js';

export type { AttentionSet };

export interface InputAttention extends KindAttention {
  config: ModelConfig;
}

/** The attention maps of `text` (a vit-classifier: one CSV line of pixel values) under the model in `dir`; `pick`: a captioner's layer and head, and hard attention's reading. */
export async function inputAttention(dir: string, text: string, pick: CaptionPick = {}): Promise<InputAttention> {
  return (await folderKind(dir)) === 'export' ? fromExport(dir, text, pick) : fromCheckpoint(dir, text, pick);
}

async function fromCheckpoint(dir: string, text: string, pick: CaptionPick): Promise<InputAttention> {
  const t = await import('@attend/transformer');
  await t.setupBackend();
  const { model, config, tokenizer: tokenizerJson } = await t.loadCheckpoint(dir);
  try {
    if (tokenizerJson === undefined && hasTokens(config)) throw new CliError(`${dir}: no tokenizer.json; cannot encode text for this checkpoint`);
    checkHardInference(config, pick);
    const tokenizer = tokenizerJson === undefined ? undefined : tokenizerFromJSON(tokenizerJson, join(dir, 'tokenizer.json'));
    return { config, ...(await cliKind(config).attention.checkpoint(t, model, config, tokenizer, text, pick)) };
  } finally {
    model.dispose();
  }
}

async function fromExport(dir: string, text: string, pick: CaptionPick): Promise<InputAttention> {
  const { readFolderConfig } = await import('@attend/runtime-onnx');
  const configPath = join(dir, 'config.json');
  const bytes = await readFile(configPath).catch(() => {
    throw new CliError(`${configPath}: missing (no such file)`);
  });
  const config = readFolderConfig(new Uint8Array(bytes), configPath);
  checkHardInference(config, pick);
  return { config, ...(await cliKind(config).attention.export(dir, config, text, pick)) };
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
