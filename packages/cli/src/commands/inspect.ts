// `attend inspect`: what a checkpoint or export folder holds — the ModelConfig, parameter
// counts per module (weight names grouped by prefix), forward FLOPs per token by module
// (@attend/core's flopsPerToken), and for an export folder each ONNX
// graph's opset, inputs and outputs. Reads headers only; no model is built.

import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { modelTask, flopsPerToken, parseModelConfig, parseSafetensors, type ModelConfig } from '@attend/core';
import { inspectModel, QUANTIZATION_METADATA_KEY, readFolderConfig } from '@attend/runtime-onnx/node';
import { folderKind } from '../model-folder.js';
import { formatBytes } from '../options.js';
import { cliKind } from '../models/registry.js';

/** The module a weight belongs to: `decoder.layers.0.self_attn.q_proj.weight` → `decoder.layers.0.self_attn`. */
export function moduleOf(name: string): string {
  const parts = name.split('.');
  const layers = parts.indexOf('layers');
  if (layers >= 0 && parts.length > layers + 3) return parts.slice(0, layers + 3).join('.');
  return parts.slice(0, -1).join('.') || name;
}

function printConfig(config: ModelConfig): void {
  console.log('config:');
  for (const [key, value] of Object.entries(config)) console.log(`  ${key.padEnd(18)} ${JSON.stringify(value)}`);
}

/** Compact FLOP count: 1234567 → "1.23 M". */
export function formatFlops(n: number): string {
  for (const [unit, size] of [['G', 1e9], ['M', 1e6], ['k', 1e3]] as const) if (n >= size) return `${(n / size).toFixed(2)} ${unit}`;
  return String(n);
}

function printFlops(config: ModelConfig): void {
  const f = flopsPerToken(config);
  const seq2seq = modelTask(config) === 'translation';
  console.log(`forward FLOPs per token (matrix products, ${cliKind(config).flopsLength} ${f.contextLength}${seq2seq ? '; an encoder token + a decoder token' : ''}):`);
  const width = Math.max(...f.modules.map((m) => m.module.length), 5);
  for (const m of f.modules) console.log(`  ${m.module.padEnd(width)} ${formatFlops(m.flops).padStart(10)}`);
  console.log(`  ${'total'.padEnd(width)} ${formatFlops(f.total).padStart(10)}`);
}

async function inspectCheckpoint(dir: string): Promise<void> {
  const configPath = join(dir, 'config.json');
  const weightsPath = join(dir, 'model.safetensors');
  const config = parseModelConfig(await readFile(configPath, 'utf8'), configPath);
  const bytes = await readFile(weightsPath);
  const { tensors } = parseSafetensors(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), { source: weightsPath });
  console.log(`checkpoint ${dir}`);
  printConfig(config);
  const counts = new Map<string, number>();
  let total = 0;
  for (const [name, tensor] of Object.entries(tensors)) {
    const n = tensor.shape.reduce((a, b) => a * b, 1);
    counts.set(moduleOf(name), (counts.get(moduleOf(name)) ?? 0) + n);
    total += n;
  }
  console.log('parameters:');
  const width = Math.max(...[...counts.keys()].map((k) => k.length), 5);
  for (const [module, n] of counts) console.log(`  ${module.padEnd(width)} ${n.toLocaleString('en-US').padStart(12)}`);
  console.log(`  ${'total'.padEnd(width)} ${total.toLocaleString('en-US').padStart(12)}`);
  printFlops(config);
  const state = await readFile(join(dir, 'trainer_state.json'), 'utf8').catch(() => undefined);
  if (state) {
    const s = JSON.parse(state) as { step?: number; evals?: { step: number; metrics: Record<string, number> }[] };
    const last = s.evals?.[s.evals.length - 1];
    console.log(`trained: ${s.step ?? '?'} steps${last ? `; last eval @ ${last.step}: ${JSON.stringify(last.metrics)}` : ''}`);
  }
}

async function inspectExport(dir: string): Promise<void> {
  const configPath = join(dir, 'config.json');
  const config = readFolderConfig(await readFile(configPath), configPath);
  console.log(`export folder ${dir}`);
  printConfig(config);
  printFlops(config);
  const graphs = (await readdir(join(dir, 'onnx'))).filter((f) => f.endsWith('.onnx')).sort();
  for (const file of graphs) {
    const path = join(dir, 'onnx', file);
    const bytes = await readFile(path);
    const { info, graph } = inspectModel(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), path);
    const opset = info.opsetImports.map((o) => `${o.domain || 'ai.onnx'} ${o.version}`).join(', ');
    const quantization = info.metadata[QUANTIZATION_METADATA_KEY];
    console.log(`onnx/${file}: ${graph} graph, ${formatBytes(bytes.byteLength)}, opset ${opset}${quantization ? `, quantized ${quantization}` : ''}`);
    console.log(`  inputs:  ${info.inputs.join(', ')}`);
    console.log(`  outputs: ${info.outputs.join(', ')}`);
  }
}

export async function inspectCommand(dir: string): Promise<void> {
  if ((await folderKind(dir)) === 'export') await inspectExport(dir);
  else await inspectCheckpoint(dir);
}
