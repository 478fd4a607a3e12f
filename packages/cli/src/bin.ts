#!/usr/bin/env node
// The `attend` command line: parses arguments with commander and dispatches to commands/*.ts.
// Every error is one line `attend: <message>`; --verbose adds the stack. Exit codes: 0 success,
// 1 a runtime error (missing or corrupt file, bad data, a failed run), 2 a usage error (unknown
// or missing flag, bad flag value), 130 training interrupted by Ctrl-C (checkpoint kept).

import { Command, CommanderError, Option } from 'commander';
import { HARD_INFERENCES, HF_IMPORTERS, PRESETS, RNN_ATTENTIONS, RNN_CELLS, STN_TRANSFORMS, SYNTHETIC_CLASSIFICATION_TASKS, SYNTHETIC_TASKS } from '@attend/core';
import { CAPTIONERS } from './models/captioner-flag.js';
import { DIGIT_SCENES_TASK } from './caption-data.js';
import { NODE_DEVICES } from '@attend/runtime-onnx';
import { CliError, errorLine } from './errors.js';
import { DEFAULT_INFER_BATCH, MAX_INFER_BATCH } from './inputs.js';
import { DEFAULT_SEED, nonNegativeInt, positiveInt, positiveIntList, positiveNumber, probability, seed } from './options.js';
import { DEFAULT_BPE_VOCAB, TRAIN_TOKENIZERS } from './train-tokenizer.js';
import { DEFAULT_LORA_TARGETS } from './train-lora.js';
import { CLUTTERED_DIGITS_TASK } from './cluttered-digits.js';

// A reader that leaves early (`attend infer … | head`) closes the pipe: stop quietly, as Unix
// tools do, instead of a stack trace for EPIPE.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(0);
    throw error;
  });
}

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
  .exitOverride()
  .addHelpText(
    'after',
    `
Examples:
  $ attend quickstart
  $ attend train --task reverse --steps 600 --out runs/reverse
  $ attend export runs/reverse --out runs/reverse-onnx
  $ attend infer runs/reverse-onnx "hello"
  $ attend attention runs/reverse "hello" --out figures

Exit codes: 0 success, 1 runtime error, 2 usage error, 130 training interrupted (checkpoint kept).`,
  );

program
  .command('train')
  .description('train a model of any kind (--preset, or chosen by the data), checkpointing into --out')
  .addOption(new Option('--preset <preset>', 'model kind (default: from the data)').choices(PRESETS))
  .option('--config <file>', 'JSON settings: ModelConfig fields and steps, batchSize, gradAccum, learningRate, seed, evalEvery, examples, devSize, contextLength, layers (flags override it)')
  .addOption(new Option('--task <name>', `built-in task (copy|reverse|sort|date: encoder-decoder; majority|parity: encoder-classifier; ${CLUTTERED_DIGITS_TASK}: canvases of the --images digits for the image classifiers; ${DIGIT_SCENES_TASK}: image-captioner, or vision-encoder-decoder with --captioner transformer)`).choices([...SYNTHETIC_TASKS, ...SYNTHETIC_CLASSIFICATION_TASKS, CLUTTERED_DIGITS_TASK, DIGIT_SCENES_TASK]))
  .option('--pairs <file>', 'encoder-decoder data: tab-separated source/target pairs, one per line')
  .option('--text <file>', 'decoder-lm data: a text file, modelled token by token (characters unless --tokenizer says otherwise)')
  .option('--csv <file>', 'encoder-classifier data: text,label rows (label = class id 0, 1, …)')
  .option('--images <file>', 'image classifier data (vit-classifier unless --preset names another image kind): CSV rows of C·S·S pixel values (channel, row, column) then the class id; with --task cluttered-digits, the digits drawn on the canvases')
  .requiredOption('--out <dir>', 'checkpoint folder: new or empty, or the checkpoint of --resume or --overwrite')
  .addOption(new Option('--tokenizer <kind>', 'text data: char (default), word, or byte-level bpe, built from the training data and saved as tokenizer.json').choices(TRAIN_TOKENIZERS))
  .option('--vocab-size <n>', `the tokenizer's vocabulary, 4 special tokens included: word keeps the most frequent words; bpe learns merges up to it (at least 260, default ${DEFAULT_BPE_VOCAB})`, positiveInt)
  .option('--resume', 'continue from the checkpoint in --out', false)
  .option('--from <checkpoint>', 'start a new run from this checkpoint (an imported one too): its model, weights and tokenizer, trained further on the data given (fine-tuning)')
  .option('--num-classes <n>', 'with --from a classifier: a fresh, seeded head of n classes for a new label set (trained in full, with LoRA too)', positiveInt)
  .option('--lora-rank <r>', 'with --from: train LoRA adapters of rank r on the checkpoint\'s frozen weights instead of the weights themselves', positiveInt)
  .option('--lora-alpha <a>', 'LoRA scaling α (updates are scaled by α/r; default: r)', positiveNumber)
  .option('--lora-targets <list>', `the layers LoRA adapts, comma-separated: q, k, v, o (attention projections), fc1, fc2 (feed-forward) (default ${DEFAULT_LORA_TARGETS})`)
  .option('--overwrite', 'start a new run over the checkpoint in --out (replaces it)', false)
  .option('--d-model <n>', 'model width', positiveInt, 64)
  .option('--heads <n>', 'attention heads (must divide --d-model)', positiveInt, 4)
  .option('--layers <n>', 'layers of each stack', positiveInt, 2)
  .option('--d-ff <n>', 'feed-forward width (default: 4 × --d-model)', positiveInt)
  .option('--context-length <n>', 'decoder-lm: tokens per training window (and maxSeqLen)', positiveInt, 64)
  .addOption(new Option('--rnn-attention <kind>', 'rnn-seq2seq: attention of the recurrent decoder (default general)').choices(RNN_ATTENTIONS))
  .addOption(new Option('--rnn-cell <cell>', 'rnn-seq2seq: recurrent cell of encoder and decoder (default gru)').choices(RNN_CELLS))
  .option('--local-window <n>', "local attention: self-attention window (Transformers), or D of local-p (rnn-seq2seq)", positiveInt)
  .option('--patch-size <n>', 'vit-classifier: side of a square patch (default: the divisor of the image side nearest a quarter of it)', positiveInt)
  .option('--channels <n>', 'channels per pixel in --images (default 1)', positiveInt)
  .option('--conv-channels <list>', 'canvas- and stn-classifier: channels of each convolution block (3×3 conv, ReLU, 2×2 max-pool) before the MLP, comma-separated, e.g. 16,32 (default: none, an MLP)', positiveIntList)
  .option('--loc-conv-channels <list>', "stn-classifier: channels of the localisation network's convolution blocks on the canvas (as --conv-channels; default: none, an MLP)", positiveIntList)
  .addOption(new Option('--stn-transform <kind>', "stn-classifier: what the localisation network regresses — affine: θ's six values; attention: a zoom and shift (s, tx, ty) (default affine)").choices(STN_TRANSFORMS))
  .option('--canvas-size <n>', `--task ${CLUTTERED_DIGITS_TASK}: canvas side in pixels (default 32)`, positiveInt)
  .option('--digit-size <n>', `--task ${CLUTTERED_DIGITS_TASK}: digit side on the canvas, 8 or larger by scaling (default 8)`, positiveInt)
  .option('--rotate <degrees>', `--task ${CLUTTERED_DIGITS_TASK}: largest rotation of a digit (default 0)`, positiveNumber)
  .option('--clutter <n>', `--task ${CLUTTERED_DIGITS_TASK} or ${DIGIT_SCENES_TASK}: fragments of other digits scattered over each canvas or scene (default 0)`, nonNegativeInt)
  .addOption(new Option('--captioner <attention>', `--task ${DIGIT_SCENES_TASK}: how the captioner looks at the image (image-captioner's LSTM — none: Show and Tell; soft, hard: Show, Attend and Tell; default soft — or transformer: the vision-encoder-decoder preset)`).choices(CAPTIONERS))
  .option('--digits-csv <file>', `--task ${DIGIT_SCENES_TASK}: digits8x8.csv, the digit images the scenes are drawn from (rows split 8:1:1 into train, dev and test digits)`)
  .option('--canvas <HxW>', `--task ${DIGIT_SCENES_TASK}: scene height x width in pixels (default 24x48)`)
  .option('--scene-digits <n>', `--task ${DIGIT_SCENES_TASK}: digits per scene, N or MIN-MAX (default 1-4)`)
  .option('--steps <n>', 'total optimizer steps (including those before --resume)', positiveInt, 1000)
  .option('--batch-size <n>', 'examples per batch', positiveInt, 64)
  .option('--grad-accum <n>', 'micro-batches per step: the batch\'s gradient with one micro-batch\'s activations in memory; without the flag, as many as the memory estimate needs', positiveInt, 1)
  .option('--workers <n>', 'data-parallel worker threads, each computing the gradients of 1/n of a batch (default 1: no threads; 2 measured no faster on 2 cores)', positiveInt)
  .option('--lr <x>', 'peak learning rate (cosine schedule with warmup)', positiveNumber, 3e-3)
  .option('--seed <n>', 'seed of data, split, init and batch order', seed, DEFAULT_SEED)
  .option('--eval-every <n>', 'evaluate on the dev set and checkpoint every n steps', positiveInt, 100)
  .option('--examples <n>', 'examples generated for --task', positiveInt, 5000)
  .option('--dev-size <n>', 'largest dev set', positiveInt, 200)
  .option('--memory-limit <GiB>', 'memory a training step may use, in each worker with --workers (default: what the tfjs wasm heap holds, 4 GiB less 10%); a batch estimated above it runs in the fewest micro-batches that fit, or with --grad-accum given is refused before it starts', positiveNumber)
  .addHelpText(
    'after',
    `
Examples:
  $ attend train --task reverse --steps 600 --out runs/reverse
  $ attend train --pairs data/eng-fra.tsv --d-model 128 --layers 3 --out runs/fr
  $ attend train --text input.txt --context-length 64 --steps 2000 --out runs/lm
  $ attend train --text input.txt --tokenizer bpe --vocab-size 1000 --out runs/lm-bpe
  $ attend train --task majority --steps 300 --out runs/majority
  $ attend train --csv reviews.csv --config small.json --out runs/reviews
  $ attend train --task reverse --steps 1200 --out runs/reverse --resume
  $ attend train --task reverse --preset rnn-seq2seq --rnn-attention additive --layers 1 --out runs/gru
  $ attend train --images digits8x8.csv --steps 600 --out runs/digits
  $ attend train --task cluttered-digits --images digits8x8.csv --clutter 8 --preset stn-classifier --out runs/stn
  $ attend train --task digit-scenes --digits-csv digits8x8.csv --captioner soft --out runs/captions
  $ attend train --task reverse --steps 600 --out runs/reverse --overwrite
  $ attend train --from runs/gpt2 --text input.txt --lora-rank 8 --lora-targets q,v --out runs/gpt2-lora

--out must not exist yet or be empty, or hold a checkpoint: one continued with --resume, or
replaced with --overwrite. A folder with other files, a file, or a data file's folder is refused
(exit 2). A second training on the same --out is refused while the first runs (lock file
.attend.lock in the folder; a lock left by a killed run is taken over).

On --resume the checkpoint decides the model: a model flag or --config field that differs from
it (--preset, --d-model, --heads, --layers, --d-ff, --context-length, --rnn-*, --local-window,
--patch-size, --channels) is refused (exit 2); --steps, --lr, --batch-size, --grad-accum and
--eval-every may change, and so may --seed, --examples and --dev-size (they change the data order
and the dev split).`,
  )
  .action(async (o, cmd: Command) => (await import('./commands/train.js')).trainCommand(o, (key) => cmd.getOptionValueSource(key) === 'cli'));

program
  .command('export')
  .description('export a checkpoint to an ONNX folder (transformers.js layout) for onnxruntime, or with --format hf to a Hugging Face model folder')
  .argument('<checkpoint>', 'checkpoint folder written by attend train')
  .requiredOption('--out <dir>', 'export folder (new or empty; an earlier export with --overwrite), or with --target triton the model repository')
  .addOption(new Option('--quantize <type>', 'int8: int8 weights with per-channel scales (fp32 compute); int8-dynamic: int8 MatMuls with activations quantized per call; int4: 4-bit MatMul weights in blocks of 32 (both with a tied LM head quantized too, as its own copy)').choices(['int8', 'int8-dynamic', 'int4']))
  .option('--int4-block <size>', 'with --quantize int4: values per 4-bit block, each with its own scale (16, 32, 64, 128 or 256; default 32): larger blocks make smaller files and faster steps, with larger logit changes (bench/results/int4-cpu.md)')
  .option('--fp32-head', 'with --quantize int8-dynamic or int4: keep a tied LM head float32 (a smaller file, a slower decode step: at GPT-2 size the head is a quarter of its weight reads)', false)
  .option('--optimize', "use ONNX Runtime's fused operators (MultiHeadAttention, RotaryEmbedding, BiasGelu/FastGelu) where the model allows", false)
  .option('--with-attention', 'also output attention weights from the graphs', false)
  .addOption(new Option('--kv-cache <graph>', "decoder-lm: shared also writes onnx/model_shared_cache.onnx, a KV cache updated in place (GroupQueryAttention), which attend generate/serve/bench run on onnxruntime-node's cpu; onnx/model.onnx stays for transformers.js and other devices").choices(['standard', 'shared']).default('standard'))
  .addOption(new Option('--target <target>', 'onnx: the export folder; triton: a Triton model repository (config.pbtxt + 1/model.onnx)').choices(['onnx', 'triton']).default('onnx'))
  .option('--overwrite', 'replace an earlier export folder in --out (triton: model folders of the same name)', false)
  .option('--adapter-only', 'a LoRA checkpoint: write its adapters alone in PEFT\'s layout (adapter_config.json, adapter_model.safetensors) instead of the ONNX folder with the adapters merged', false)
  .addOption(new Option('--format <format>', 'onnx: the ONNX export folder; hf: a Hugging Face model folder (config.json, model.safetensors, tokenizer files) for transformers, LoRA adapters merged (decoder-lm as GPT-2, encoder-classifier as BERT, encoder-decoder as Marian, vit-classifier as ViT)').choices(['onnx', 'hf']).default('onnx'))
  .option('--max-shard-size <size>', '--format hf: split the weights into shards of at most this size (5GB, 500MB, 2GiB or bytes) with model.safetensors.index.json, as save_pretrained does')
  .addHelpText(
    'after',
    `
Examples:
  $ attend export runs/reverse --out runs/reverse-onnx
  $ attend export runs/reverse --out runs/reverse-int8 --quantize int8
  $ attend export runs/shakespeare --out runs/shakespeare-fast --optimize --quantize int4
  $ attend export runs/shakespeare --out runs/shakespeare-onnx --kv-cache shared
  $ attend export runs/reverse --out model_repository --target triton
  $ attend export runs/reverse --out runs/reverse-onnx --overwrite
  $ attend export runs/gpt2-lora --adapter-only --out runs/gpt2-lora-peft
  $ attend export runs/gpt2-lora --format hf --out runs/gpt2-lora-hf

--out must not exist yet or be empty; an earlier export folder is replaced only with
--overwrite, and a folder with other files never (exit 2). It may not be the checkpoint, lie
inside it or contain it. --target triton adds its model folders to the repository and keeps the
other models; a model folder of the same name is replaced only with --overwrite.`,
  )
  .action(async (checkpoint, o) => (await import('./commands/export.js')).exportCommand(checkpoint, o));

program
  .command('import')
  .description(`import a Hugging Face model folder (model_type ${Object.keys(HF_IMPORTERS).join(', ')}) as an attend checkpoint`)
  .argument('<folder>', 'Hugging Face model folder: config.json, model.safetensors (or model.safetensors.index.json + shards), tokenizer files')
  .requiredOption('--out <dir>', 'checkpoint folder (new or empty; an earlier checkpoint with --overwrite)')
  .option('--overwrite', 'replace an earlier checkpoint in --out', false)
  .addHelpText(
    'after',
    `
Examples:
  $ attend import models/gpt2 --out runs/gpt2
  $ attend import models/bert-sst2 --out runs/bert-sst2 --overwrite

Supported: model_type gpt2 (GPT2LMHeadModel, GPT2Model; distilgpt2 too) → decoder-lm, bert
(BertForSequenceClassification; BertModel gets a fresh 2-label head) → encoder-classifier, vit
(ViTForImageClassification; ViTModel gets a fresh head) → vit-classifier, and marian
(MarianMTModel, e.g. Helsinki-NLP/opus-mt-en-fr) → encoder-decoder.
tokenizer.json is copied as it is. --out must not exist yet or be empty; an earlier checkpoint
is replaced only with --overwrite, and a folder with other files never (exit 2).`,
  )
  .action(async (folder, o) => (await import('./commands/import.js')).importCommand(folder, o));

program
  .command('pull')
  .description('download a model folder from the Hugging Face Hub (config, safetensors weights, tokenizer files), ready for attend import')
  .argument('<repo>', 'model repository, ORG/NAME (e.g. openai-community/gpt2)')
  .requiredOption('--out <dir>', 'folder to download into (new or empty; an earlier pull with --overwrite)')
  .option('--revision <rev>', 'branch, tag or commit', 'main')
  .option('--all-files', 'every file of the repository, not only those attend import reads', false)
  .option('--token <token>', 'access token for a private or gated model (default: $HF_TOKEN)')
  .option('--hub-url <url>', 'the Hub to download from', 'https://huggingface.co')
  .option('--overwrite', 'replace an earlier pull in --out (and discard an unfinished pull of another model)', false)
  .addHelpText(
    'after',
    `
Examples:
  $ attend pull openai-community/gpt2 --out models/gpt2
  $ attend import models/gpt2 --out runs/gpt2

Each file is checked against the Hub's checksum (SHA-256 for LFS files). Files arrive in
<out>.pull-partial and the folder is renamed into place when all are there; an interrupted
pull continues where it stopped when run again.`,
  )
  .action(async (repo, o) => (await import('./commands/pull.js')).pullCommand(repo, o));

/** --hard-inference (infer, eval, attention): how a hard-attention captioner reads the image at test time. */
function hardInferenceOption(): Option {
  return new Option('--hard-inference <reading>', 'a hard-attention image-captioner at test time: argmax (the location of largest α; default) or expectation (the expected context Σ α a, as Xu et al. §4.1 compare)').choices(HARD_INFERENCES);
}

/** The options of the commands that run a model: inputs, device, decoding strategy, --json. */
function runOptions(command: Command): Command {
  return command
    .option('--file <file>', 'read inputs from a file, one per line (- for stdin), as a stream')
    .addOption(new Option('--device <device>', 'export folders: onnxruntime-node cpu or cuda (falls back to cpu), or onnxruntime-web wasm').choices(NODE_DEVICES).default('cpu'))
    .option('--device-id <n>', 'cuda: the GPU index (default 0)', nonNegativeInt)
    .option('--beam <n>', 'beam search with n beams', positiveInt)
    .option('--sample', 'sample instead of greedy decoding', false)
    .option('--temperature <x>', 'sampling temperature', positiveNumber)
    .option('--top-k <n>', 'sample from the k most likely tokens', positiveInt)
    .option('--top-p <p>', 'sample from the smallest set with probability ≥ p', probability)
    .option('--seed <n>', 'sampling seed', seed, DEFAULT_SEED)
    .option('--max-new-tokens <n>', 'new tokens to generate at most (default: the model\'s maxSeqLen, less the prompt unless --sliding-window)', positiveInt)
    .option('--max-tokens <n>', 'older spelling of --max-new-tokens', positiveInt)
    .option('--sliding-window', 'decoder-lm: go on past the model\'s context (maxSeqLen) on its last maxSeqLen tokens', false)
    .option('--json', 'print one JSON object with every input and output', false);
}

runOptions(
  program
    .command('infer')
    .description('run a checkpoint (tfjs) or an export folder (onnxruntime): translate, classify or continue each input')
    .argument('<model>', 'checkpoint or export folder')
    .argument('[text...]', 'inputs; default: --file, or stdin one per line'),
)
  .option('--batch-size <n>', `inputs per model call (at most ${MAX_INFER_BATCH}); outputs are written batch by batch`, positiveInt, DEFAULT_INFER_BATCH)
  .option('--pair <text>', 'a classifier with token types (BERT): the second text of a sentence pair, for each input')
  .addOption(hardInferenceOption())
  .addHelpText(
    'after',
    `
An encoder–decoder prints each output, a classifier each label with its class probabilities,
a decoder-lm each input's continuation, a captioner (image-captioner, vision-encoder-decoder)
each scene's caption (a CSV line of H·W pixel values or a PNG file).

Examples:
  $ attend infer runs/reverse-onnx "hello" "world"
  $ attend infer runs/majority "abbab" --json
  $ attend infer runs/bert-mrpc "The cat sat." --pair "A cat was sitting."
  $ attend infer runs/reverse --beam 4 --file inputs.txt
  $ attend infer runs/reverse-onnx --file big.txt --batch-size 64 > outputs.txt
  $ echo "march 3rd, 2021" | attend infer runs/dates-onnx --device wasm`,
  )
  .action(async (model, texts, o) => (await import('./commands/infer.js')).inferCommand(model, texts, o, 'infer'));

runOptions(
  program
    .command('translate')
    .description('infer for encoder–decoder models (encoder-decoder, rnn-seq2seq); other models are refused')
    .argument('<model>', 'checkpoint or export folder')
    .argument('[text...]', 'inputs; default: --file, or stdin one per line'),
)
  .option('--batch-size <n>', `inputs per model call (at most ${MAX_INFER_BATCH}); outputs are written batch by batch`, positiveInt, DEFAULT_INFER_BATCH)
  .addHelpText(
    'after',
    `
Examples:
  $ attend translate runs/reverse-onnx "hello" "world"
  $ echo "march 3rd, 2021" | attend translate runs/dates-onnx --device cuda --json`,
  )
  .action(async (model, texts, o) => (await import('./commands/infer.js')).inferCommand(model, texts, o, 'translate'));

runOptions(
  program
    .command('generate')
    .description('continue prompts with a decoder-only LM, streaming tokens as they are produced')
    .argument('<model>', 'decoder-lm checkpoint or export folder')
    .argument('[prompt...]', 'prompts; default: --file, or stdin one per line; none: start from scratch'),
)
  .addHelpText(
    'after',
    `
Examples:
  $ attend generate runs/lm-onnx "the quick" --max-new-tokens 100
  $ attend generate runs/lm-onnx "the quick" --max-new-tokens 500 --sliding-window
  $ attend generate runs/lm-onnx "once upon" --sample --temperature 0.8 --top-k 20 --seed 3
  $ attend generate runs/lm --beam 4 "to be"`,
  )
  .action(async (model, texts, o) => (await import('./commands/generate.js')).generateCommand(model, texts, o));

program
  .command('eval')
  .description('score a checkpoint or an export folder on a held-out file: BLEU, chrF and exact match (translation), perplexity and bits per character (LM), accuracy and confusion matrix (classifiers), exact match and BLEU by digit count (captioner, on test digit scenes)')
  .argument('<model>', 'checkpoint or export folder')
  .option('--pairs <file>', 'translation: TSV source<TAB>reference lines')
  .option('--text <file>', 'decoder-lm: a text file')
  .option('--csv <file>', 'encoder-classifier: text,label lines (label = class id)')
  .option('--images <file>', 'image classifiers: CSV lines of C·S·S pixel values then the class id')
  .option('--digits-csv <file>', 'captioners: digits8x8.csv; test scenes are drawn from its test rows (digits never seen in training)')
  .option('--scenes <n>', 'captioners: test scenes to caption (default 400)', positiveInt)
  .option('--scene-digits <n>', 'captioners: digits per scene, N or MIN-MAX (default 1-4)')
  .option('--clutter <n>', 'captioners: fragments of other digits per scene (default 0)', nonNegativeInt)
  .option('--seed <n>', 'captioners: seed of the test scenes (default 1)', seed)
  .addOption(hardInferenceOption())
  .option('--batch-size <n>', 'rows (LM: windows) run through the model at once', positiveInt, 32)
  .addOption(new Option('--device <device>', 'export folders: onnxruntime-node cpu or cuda (falls back to cpu), or onnxruntime-web wasm').choices(NODE_DEVICES).default('cpu'))
  .option('--device-id <n>', 'cuda: the GPU index (default 0)', nonNegativeInt)
  .option('--max-new-tokens <n>', "translation: new tokens per output at most (default: up to the model's maxSeqLen)", positiveInt)
  .option('--max-tokens <n>', 'older spelling of --max-new-tokens', positiveInt)
  .option('--json', 'print one JSON object', false)
  .addHelpText(
    'after',
    `
Translation is greedy; BLEU is corpus BLEU-4 with sacreBLEU's defaults (13a tokens, brevity
penalty, no smoothing), chrF is chrF2 (character 6-grams, β = 2, whitespace removed). An LM is
scored over non-overlapping windows of its context length: every token but the first is
predicted once. The file is read in pieces and run --batch-size rows at a time.

Examples:
  $ attend eval runs/fr-onnx --pairs data/test.tsv
  $ attend eval runs/lm --text data/valid.txt --json
  $ attend eval runs/reviews --csv data/test.csv
  $ attend eval runs/digits-onnx --images data/digits-test.csv
  $ attend eval runs/captions-onnx --digits-csv digits8x8.csv --scenes 1000 --clutter 4`,
  )
  .action(async (model, o) => (await import('./commands/eval.js')).evalCommand(model, o));

program
  .command('attention')
  .description('draw the attention weights of one input as heatmaps (SVG per layer and head) and in the terminal')
  .argument('<model>', 'checkpoint, or export folder made with --with-attention')
  .argument('<input>', 'the input text (source, prompt or text to classify), or for an image model one CSV line of pixel values or a PNG (a captioner: each generated word\'s attention over the scene)')
  .option('--out <dir>', 'folder for the SVG figures', 'attention')
  .option('--head <n>', 'terminal view of this head instead of the mean of the heads (a captioner: its figure too)', nonNegativeInt)
  .option('--layer <n>', "a Transformer captioner's figure: this decoder layer's cross-attention instead of the last's", nonNegativeInt)
  .addOption(hardInferenceOption())
  .option('--quiet', 'no terminal view, only the figures', false)
  .addHelpText(
    'after',
    `
For an encoder–decoder the input is translated first; the figures show cross-attention
(output × source, the alignment), decoder and encoder self-attention. For a vit-classifier
they show the CLS token's attention over the patch grid (per layer and head), its attention
rollout through the layers, and the self-attention between CLS and the patches. An
stn-classifier gets attention-stn.svg (its sampling grid on the input, the image read), a
glimpse-classifier attention-glimpses.svg (where each glimpse looked), a captioner
attention-caption.svg (each word's attention over the scene); a canvas-classifier has none.

Examples:
  $ attend attention runs/dates "march 3rd, 2021" --out figures
  $ attend attention runs/dates-onnx-attn "july 4th, 1976" --head 2`,
  )
  .action(async (model, input, o) => (await import('./commands/attention.js')).attentionCommand(model, input, o));

program
  .command('bench')
  .description('time a model folder on this machine: onnxruntime node/web latency of an export, tfjs training throughput of a checkpoint')
  .argument('<folder>', 'export folder or checkpoint')
  .option('--tokens <n>', 'tokens per sequence (default: 32, capped by maxSeqLen)', positiveInt)
  .option('--seconds <x>', 'seconds each measurement runs at least', positiveNumber, 0.5)
  .option('--train-steps <n>', 'checkpoints: optimizer steps timed', positiveInt, 10)
  .option('--batch-size <n>', 'checkpoints: sequences per training batch', positiveInt, 16)
  .option('--json', 'print one JSON object with the figures', false)
  .addHelpText(
    'after',
    `
Each throughput names what it counts: source + target tokens/s (encoder–decoder forward),
tokens/s (LM forward), generated tokens/s (cached decoding; an encoder–decoder's: generated
target tokens/s), sequences/s (text classifier), images/s (image classifiers).

Examples:
  $ attend bench runs/reverse-onnx
  $ attend bench runs/lm-onnx --tokens 64 --seconds 2
  $ attend bench runs/reverse --train-steps 20`,
  )
  .action(async (folder, o) => (await import('./commands/bench.js')).benchCommand(folder, o));

program
  .command('inspect')
  .description('show the config, parameters per module, FLOPs per token, and ONNX opset and inputs/outputs of a folder')
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
  .description('train the date-normalisation demo, export it, compare tfjs with onnxruntime-node, and draw a dev example\'s attention')
  .option('--out <dir>', 'folder for the checkpoint and the export (default: a temporary folder)')
  .option('--steps <n>', 'training steps at most (stops early at 99.5% dev exact match)', positiveInt, 1000)
  .option('--seed <n>', 'seed', seed, DEFAULT_SEED)
  .addOption(new Option('--device <device>', 'onnxruntime device').choices(NODE_DEVICES).default('cpu'))
  .addHelpText(
    'after',
    `
Examples:
  $ attend quickstart
  $ attend quickstart --steps 300 --out runs/quickstart`,
  )
  .action(async (o) => (await import('./commands/quickstart.js')).quickstartCommand(o));

program
  .command('serve')
  .description('serve an export folder over HTTP: generate, translate or classify, with batching, SSE streaming and /metrics')
  .argument('<folder>', 'export folder written by attend export')
  .option('--host <host>', 'address to listen on', '127.0.0.1')
  .option('--port <n>', 'port (0 picks a free one)', nonNegativeInt, 8080)
  .addOption(new Option('--device <device>', 'onnxruntime device; cuda falls back to cpu').choices(NODE_DEVICES).default('cpu'))
  .option('--device-id <n>', 'cuda: the GPU index (default 0)', nonNegativeInt)
  .option('--threads <n>', 'onnxruntime intra-op threads (default: its choice)', positiveInt)
  .option('--max-batch <n>', 'requests run together in one model call at most', positiveInt, 32)
  .option('--batch-wait <ms>', 'how long a request waits for others to join its batch (only after a batch of several)', nonNegativeInt, 5)
  .option('--no-batching', 'run requests one at a time')
  .option('--max-queue <n>', 'requests waiting at most; more get 503', positiveInt, 256)
  .option('--timeout <ms>', 'answer 504 to a request not done in this time', positiveInt, 30_000)
  .option('--max-new-tokens <n>', 'new tokens a request may ask for at most (request key maxNewTokens)', positiveInt, 256)
  .option('--body-limit <bytes>', 'largest request body; larger get 413', positiveInt, 65_536)
  .option('--drain-timeout <s>', 'on SIGTERM or SIGINT: seconds the requests in flight get to finish before their connections are closed', positiveNumber, 10)
  .addHelpText(
    'after',
    `
Examples:
  $ attend serve runs/dates-onnx --port 8080
  $ curl -s localhost:8080/v1/translate -H 'content-type: application/json' -d '{"text": "march 3rd, 2021"}'
  $ curl -sN localhost:8080/v1/generate -H 'content-type: application/json' -d '{"prompt": "To be", "stream": true}'`,
  )
  .action(async (folder, o) => (await import('./commands/serve.js')).serveCommand(folder, o));

try {
  await program.parseAsync();
} catch (error) {
  if (error instanceof CommanderError) {
    // Already printed by commander: help and version exit 0, usage errors 2.
    process.exitCode = error.exitCode === 0 ? 0 : 2;
  } else {
    console.error(errorLine(error));
    if (program.opts().verbose && error instanceof Error && error.stack) console.error(error.stack);
    process.exitCode = error instanceof CliError ? error.exitCode : 1;
  }
}
