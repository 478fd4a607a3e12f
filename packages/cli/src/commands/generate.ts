// `attend generate`: continues prompts with a decoder-only LM (checkpoint on tfjs, export folder
// on onnxruntime), streaming each token to the terminal as it is produced (greedy or sampling;
// beam search prints whole hypotheses). Prompts come from arguments, --file or stdin, one per
// line; with none (a terminal on stdin) it generates from the start token. A prompt becomes ids
// as everywhere else (core's `lmPromptIds`); a generation that stops at the model's context says
// so on stderr, and --sliding-window goes on past it.

import { modelTask, type FinishReason } from '@attend/core';
import { aPreset, CliError } from '../errors.js';
import { inputLines, maxNewTokensOf, strategyOf, warnUnknown } from '../inputs.js';
import { openModel } from '../runner.js';
import { reportContext, reportFallback, type InferCommandOptions } from './infer.js';

export async function generateCommand(model: string, texts: string[], o: InferCommandOptions): Promise<void> {
  const strategy = strategyOf(o);
  const maxNewTokens = maxNewTokensOf(o);
  const prompts = inputLines(texts, o.file, { allowEmpty: true });
  const runner = await openModel(model, o.device, o.deviceId);
  try {
    if (modelTask(runner.config) !== 'text-generation') throw new CliError(`${model}: ${aPreset(runner.config.preset)} model; generate needs a decoder-lm (use attend infer)`);
    reportFallback(runner, o.device);
    const request = { strategy, ...(maxNewTokens !== undefined ? { maxNewTokens } : {}), slidingWindow: o.slidingWindow ?? false };
    const results: { input: string; output: string; finishReason: FinishReason }[] = [];
    let count = 0;
    // One prompt argument, or none from a terminal (the empty prompt): notes say "the generation".
    const single = texts.length === 1 || (texts.length === 0 && !o.file && process.stdin.isTTY === true);
    // Prompts are read as they come (a file or stdin is never held whole); each one warned about,
    // generated and printed before the next is read.
    const each = async (input: string): Promise<void> => {
      count += 1;
      warnUnknown(runner.tokenizer, [input]);
      if (!o.json) process.stdout.write(input);
      const { output, finishReason } = await runner.generate(input, request, o.json ? undefined : (piece) => process.stdout.write(piece));
      if (!o.json) process.stdout.write(strategy.kind === 'beam' ? `${output}\n` : '\n');
      reportContext(finishReason, runner.config.maxSeqLen, single ? 'the generation' : `prompt ${count}`);
      if (o.json) results.push({ input, output, finishReason });
    };
    for await (const prompt of prompts) await each(prompt);
    if (count === 0) await each('');
    if (o.json) console.log(JSON.stringify({ model, preset: runner.config.preset, runtime: runner.runtime, strategy, results }));
  } finally {
    await runner.close();
  }
}
