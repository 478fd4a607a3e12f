// `attend generate`: continues prompts with a decoder-only LM (checkpoint on tfjs, export folder
// on onnxruntime), streaming each token to the terminal as it is produced (greedy or sampling;
// beam search prints whole hypotheses). Prompts come from arguments, --file or stdin, one per
// line; with none (a terminal on stdin) it generates from the start token.

import { CliError } from '../errors.js';
import { inputLines, strategyOf } from '../inputs.js';
import { openModel } from '../runner.js';
import { reportFallback, type InferCommandOptions } from './infer.js';
import { modelTask } from '@attend/core';

export async function generateCommand(model: string, texts: string[], o: InferCommandOptions): Promise<void> {
  const strategy = strategyOf(o);
  const prompts = inputLines(texts, o.file, { allowEmpty: true });
  const runner = await openModel(model, o.device, o.deviceId);
  try {
    if (modelTask(runner.config) !== 'text-generation') throw new CliError(`${model}: ${/^[aeiou]/.test(runner.config.preset) ? 'an' : 'a'} ${runner.config.preset} model; generate needs a decoder-lm (use attend infer)`);
    reportFallback(runner, o.device);
    const results: { prompt: string; output: string }[] = [];
    let count = 0;
    const each = async (prompt: string) => {
      count++;
      if (o.json) {
        results.push({ prompt, output: await runner.generate(prompt, strategy, o.maxTokens) });
        return;
      }
      process.stdout.write(prompt);
      const output = await runner.generate(prompt, strategy, o.maxTokens, (piece) => process.stdout.write(piece));
      process.stdout.write(strategy.kind === 'beam' ? `${output}\n` : '\n');
    };
    for await (const prompt of prompts) await each(prompt);
    if (count === 0) await each('');
    if (o.json) console.log(JSON.stringify({ model, runtime: runner.runtime, strategy, results }));
  } finally {
    await runner.close();
  }
}
