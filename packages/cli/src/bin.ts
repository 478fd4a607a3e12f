#!/usr/bin/env node
// The `attend` command line: parses arguments with commander and dispatches to commands/*.ts.
// Every error is one line `attend: <message>` and a non-zero exit code; --verbose adds the stack.

import { Command, CommanderError, Option } from 'commander';
import { RNN_ATTENTIONS, SYNTHETIC_TASKS } from '@attend/core';
import { CliError, errorLine } from './errors.js';
import { nonNegativeInt, positiveInt, positiveNumber, probability } from './options.js';

const DEVICES = ['cpu', 'cuda'] as const;

const program = new Command('attend')
  .description('Train, export, run and inspect attention models (tfjs training, ONNX Runtime inference).')
  .version('0.1.0')
  .option('-v, --verbose', 'print stack traces of errors')
  .showSuggestionAfterError(true)
  .showHelpAfterError(false)
  .configureOutput({
    // commander's usage errors as one line: "attend: unknown option '--stpes' (Did you mean --steps?)"
    outputError: (text, write) => write(`${text.trim().replace(/^error: /, 'attend: ').replace(/\s*\n\s*/g, ' ')}\n`),
  })
  .exitOverride();

program
  .command('train')
  .description('train an encoder–decoder on a built-in task or a TSV of pairs, checkpointing into --out')
  .addOption(new Option('--task <name>', 'built-in synthetic task').choices(SYNTHETIC_TASKS))
  .option('--pairs <file>', 'tab-separated source/target pairs, one per line')
  .requiredOption('--out <dir>', 'checkpoint folder')
  .option('--resume', 'continue from the checkpoint in --out', false)
  .option('--d-model <n>', 'model width', positiveInt, 64)
  .option('--heads <n>', 'attention heads (must divide --d-model)', positiveInt, 4)
  .option('--layers <n>', 'encoder and decoder layers', positiveInt, 2)
  .addOption(new Option('--model <kind>', 'Transformer (encoder-decoder) or GRU encoder–decoder (rnn-seq2seq)').choices(['transformer', 'rnn']).default('transformer'))
  .addOption(new Option('--rnn-attention <kind>', 'attention of the GRU decoder (--model rnn)').choices(RNN_ATTENTIONS).default('general'))
  .option('--local-window <n>', "half-width D of Luong's local-p window (--rnn-attention local-p)", positiveInt, 4)
  .option('--steps <n>', 'total optimizer steps (including those before --resume)', positiveInt, 1000)
  .option('--batch-size <n>', 'pairs per batch', positiveInt, 64)
  .option('--lr <x>', 'peak learning rate (cosine schedule with warmup)', positiveNumber, 3e-3)
  .option('--seed <n>', 'seed of data, split, init and batch order', nonNegativeInt, 1)
  .option('--eval-every <n>', 'evaluate dev exact match and checkpoint every n steps', positiveInt, 100)
  .option('--examples <n>', 'examples generated for --task', positiveInt, 5000)
  .option('--dev-size <n>', 'largest dev set', positiveInt, 200)
  .addHelpText(
    'after',
    `
Examples:
  $ attend train --task reverse --steps 600 --out runs/reverse
  $ attend train --pairs data/eng-fra.tsv --d-model 128 --layers 3 --out runs/fr
  $ attend train --task reverse --steps 1200 --out runs/reverse --resume
  $ attend train --task reverse --model rnn --rnn-attention additive --layers 1 --out runs/gru`,
  )
  .action(async (o) => (await import('./commands/train.js')).trainCommand(o));

program
  .command('export')
  .description('export a checkpoint to an ONNX folder (transformers.js layout) for onnxruntime')
  .argument('<checkpoint>', 'checkpoint folder written by attend train')
  .requiredOption('--out <dir>', 'export folder')
  .addOption(new Option('--quantize <type>', 'store weights as int8 with per-channel scales').choices(['int8']))
  .option('--with-attention', 'also output attention weights from the graphs', false)
  .addHelpText(
    'after',
    `
Examples:
  $ attend export runs/reverse --out runs/reverse-onnx
  $ attend export runs/reverse --out runs/reverse-int8 --quantize int8`,
  )
  .action(async (checkpoint, o) => (await import('./commands/export.js')).exportCommand(checkpoint, o));

program
  .command('translate')
  .description('decode inputs with a checkpoint (tfjs) or an export folder (onnxruntime-node)')
  .argument('<model>', 'checkpoint or export folder')
  .argument('[text...]', 'inputs; default: --file, or stdin one per line')
  .option('--file <file>', 'read inputs from a file, one per line')
  .addOption(new Option('--device <device>', 'onnxruntime device (export folders); cuda falls back to cpu').choices(DEVICES).default('cpu'))
  .option('--beam <n>', 'beam search with n beams', positiveInt)
  .option('--sample', 'sample instead of greedy decoding', false)
  .option('--temperature <x>', 'sampling temperature', positiveNumber)
  .option('--top-k <n>', 'sample from the k most likely tokens', positiveInt)
  .option('--top-p <p>', 'sample from the smallest set with probability ≥ p', probability)
  .option('--seed <n>', 'sampling seed', nonNegativeInt, 0)
  .option('--max-tokens <n>', 'tokens to generate at most (default: maxSeqLen − 1)', positiveInt)
  .option('--json', 'print one JSON object with every input and output', false)
  .addHelpText(
    'after',
    `
Examples:
  $ attend translate runs/reverse-onnx "hello" "world"
  $ attend translate runs/reverse --beam 4 --file inputs.txt
  $ echo "march 3rd, 2021" | attend translate runs/dates-onnx --device cuda --json`,
  )
  .action(async (model, texts, o) => (await import('./commands/translate.js')).translateCommand(model, texts, o));

program
  .command('inspect')
  .description('show the config, parameter counts per module, and ONNX inputs/outputs of a folder')
  .argument('<folder>', 'checkpoint or export folder')
  .addHelpText(
    'after',
    `
Examples:
  $ attend inspect runs/reverse
  $ attend inspect runs/reverse-onnx`,
  )
  .action(async (folder) => (await import('./commands/inspect.js')).inspectCommand(folder));

program
  .command('quickstart')
  .description('train the date-normalisation demo, export it, and compare tfjs with onnxruntime-node')
  .option('--out <dir>', 'folder for the checkpoint and the export (default: a temporary folder)')
  .option('--steps <n>', 'training steps at most (stops early at 99.5% dev exact match)', positiveInt, 1000)
  .option('--seed <n>', 'seed', nonNegativeInt, 1)
  .addOption(new Option('--device <device>', 'onnxruntime device').choices(DEVICES).default('cpu'))
  .addHelpText(
    'after',
    `
Examples:
  $ attend quickstart
  $ attend quickstart --steps 300 --out runs/quickstart`,
  )
  .action(async (o) => (await import('./commands/quickstart.js')).quickstartCommand(o));

try {
  await program.parseAsync();
} catch (error) {
  if (error instanceof CommanderError) {
    // Already printed by commander (help, version, or a usage error).
    process.exitCode = error.exitCode;
  } else {
    console.error(errorLine(error));
    if (program.opts().verbose && error instanceof Error && error.stack) console.error(error.stack);
    process.exitCode = error instanceof CliError ? error.exitCode : 1;
  }
}
