// `attend quickstart`: the date-normalisation experiment end to end — train a small
// encoder–decoder (runDateExperiment), save the checkpoint, export it to ONNX, decode the dev
// set under onnxruntime-node and compare its exact match with tfjs's, print the parity of the
// export (largest tfjs vs ORT logit difference) and draw one dev example's attention. Without
// --out it works in a temporary folder that it removes when it ends: done, failed or interrupted.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { exactMatch } from '@attend/core';
import { exportFolder } from '@attend/runtime-onnx/node';
import { runDateExperiment, saveCheckpoint, setupBackend } from '@attend/transformer';
import { CliError } from '../errors.js';
import { exportParity } from '../parity.js';
import { openModel, type InferDevice } from '../runner.js';
import { writeAttentionFigures } from './attention.js';

export interface QuickstartCommandOptions {
  out?: string;
  steps: number;
  seed: number;
  device: InferDevice;
}

/** Runs the quickstart; without --out in a temporary folder that is removed at the end, also on an error or Ctrl-C. */
export async function quickstartCommand(o: QuickstartCommandOptions): Promise<void> {
  const temporary = o.out === undefined;
  const out = o.out ?? (await mkdtemp(join(tmpdir(), 'attend-quickstart-')));
  // Ctrl-C (or SIGTERM) stops training at the next step and the other stages between them, so
  // that the temporary folder is removed on the way out.
  const controller = new AbortController();
  const interrupt = (): void => controller.abort();
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    await quickstart(o, out, temporary, controller.signal);
  } finally {
    process.off('SIGINT', interrupt);
    process.off('SIGTERM', interrupt);
    if (temporary) await rm(out, { recursive: true, force: true });
  }
}

async function quickstart(o: QuickstartCommandOptions, out: string, temporary: boolean, signal: AbortSignal): Promise<void> {
  const stage = (): void => {
    if (signal.aborted) throw new CliError(`interrupted${temporary ? `; removed ${out}` : ''}`, 130);
  };
  const checkpointDir = join(out, 'checkpoint');
  const exportDir = join(out, 'onnx');
  const backend = await setupBackend();
  console.log(`attend quickstart — date normalisation ("march 3rd, 2021" → "2021-03-03") with a small encoder–decoder (tfjs ${backend.name})`);
  const r = await runDateExperiment({ steps: o.steps, seed: o.seed, onLine: (line) => console.log(line), signal }).catch((error: unknown) => {
    stage(); // interrupted: say so in one line
    throw error;
  });
  try {
    stage();
    console.log(`\nparameters: ${r.parameters.toLocaleString('en-US')}; trained ${r.steps} steps in ${r.seconds.toFixed(1)} s (${r.reason})`);
    await saveCheckpoint(checkpointDir, { model: r.model, tokenizer: r.tokenizer.toJSON() });
    stage();
    await exportFolder(checkpointDir, exportDir);
    console.log(`checkpoint: ${checkpointDir}\nonnx export: ${exportDir}`);
  } finally {
    r.model.dispose();
  }
  stage();
  const translator = await openModel(exportDir, o.device);
  try {
    const ortOutputs = (await translator.translate(r.dev.map((p) => p.source), { kind: 'greedy' }, 13)).map((t) => t.output);
    const references = r.dev.map((p) => p.target);
    const agree = ortOutputs.filter((s, i) => s === r.outputs[i]).length;
    console.log(`\ndev exact match on ${r.devSize} dates:`);
    console.log(`  ${'tfjs'.padEnd(24)} ${(100 * r.exactMatch).toFixed(2)}%`);
    console.log(`  ${translator.runtime.padEnd(24)} ${(100 * exactMatch(ortOutputs, references)).toFixed(2)}%`);
    console.log(`  ORT output = tfjs output on ${agree}/${r.devSize} dates\n`);
    r.dev.slice(0, 6).forEach((p, i) => {
      const output = ortOutputs[i]!;
      console.log(`  ${p.source.padEnd(36)} → ${output}${output === p.target ? '' : `   (expected ${p.target})`}`);
    });
    stage();
    const parity = await exportParity(checkpointDir, exportDir);
    console.log(`\nparity: max |tfjs − onnxruntime| logit = ${parity.maxAbsDiff.toExponential(2)} on ${parity.rows} inputs of ≤ ${parity.seqLen} tokens`);
    const example = (r.dev.find((p) => /[a-z]/.test(p.source)) ?? r.dev[0]!).source; // a date written in words
    stage();
    const { files } = await writeAttentionFigures(checkpointDir, example, join(out, 'attention'));
    console.log(`attention heatmaps of "${example}":`);
    for (const file of files) console.log(`  ${file}`);
    if (temporary) {
      console.log(`\nthese files are in a temporary folder, removed now; keep them with: ${invocation()} quickstart --out runs/quickstart`);
    } else {
      console.log(`\ntry: ${invocation()} infer ${exportDir} "july 4th, 1976"`);
      console.log(`     ${invocation()} attention ${checkpointDir} "july 4th, 1976"`);
    }
  } finally {
    await translator.close();
  }
}

/** How this process was started, for a copy-pasteable next command (`attend` when installed). */
function invocation(): string {
  const script = process.argv[1] ?? '';
  return script.endsWith('/attend') || script === 'attend' ? 'attend' : `node ${relative(process.cwd(), script) || script}`;
}
