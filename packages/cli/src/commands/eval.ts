// `attend eval MODEL --pairs|--text|--csv|--images FILE`: scores a checkpoint (tfjs) or an
// export folder (onnxruntime) on a held-out file, by the model's task:
//   translation (encoder-decoder, rnn-seq2seq), --pairs: TSV `source<TAB>reference` lines,
//     translated greedily; corpus BLEU (sacreBLEU's defaults: 13a tokens, no smoothing), chrF2
//     (character 6-grams, β = 2) and exact match.
//   text-generation (decoder-lm), --text: perplexity and bits per character of the file's text,
//     over non-overlapping windows of maxSeqLen tokens (see `lmScore`).
//   text-classification (encoder-classifier), --csv: `text,label` (or `text,pair,label`) lines; accuracy and the
//     confusion matrix.
//   image-classification (vit-classifier), --images: CSV lines of C·S·S pixel values then the
//     class id (the layout of digits8x8.csv); accuracy and the confusion matrix.
//   image-to-text (image-captioner), --digits-csv: test scenes drawn from the file's test digit
//     rows (caption-eval.ts); exact match and BLEU, overall and by the number of digits.
// The file is read in pieces and run --batch-size rows at a time, so memory stays flat in its
// length; every metric is a sum over the batches (BLEU's and chrF's n-gram counts included).
// Text output is a small table; --json prints one object.

import { parse } from 'csv-parse/sync';
import {
  addBleuStatistics,
  addChrfStatistics,
  bitsPerCharacter,
  bleuFromStatistics,
  bleuStatistics,
  chrfFromStatistics,
  chrfStatistics,
  classifierConfig,
  imageConfig,
  imageToTextConfig,
  confusionMatrix,
  encoderPairIds,
  modelTask,
  nllFromLogits,
  perplexity,
  tokenConfig,
  type BleuStatistics,
  type ChrfStatistics,
  type ModelTask,
  type Tokenizer,
} from '@attend/core';
import { evalCaptions, type CaptionEvalOptions } from '../caption-eval.js';
import { CliError } from '../errors.js';
import { fileLines, textPieces } from '../files.js';
import { maxNewTokensOf } from '../inputs.js';
import { readingField, type HardInferenceOption } from '../hard-inference.js';
import { openModel, type InferDevice, type ModelRunner } from '../runner.js';
import { isImageCsvHeader } from '../train-data.js';
import { reportFallback } from './infer.js';

export interface EvalCommandOptions extends Omit<CaptionEvalOptions, 'batchSize'>, HardInferenceOption {
  pairs?: string;
  text?: string;
  csv?: string;
  images?: string;
  /** Rows (LM: windows) run through the model at once. */
  batchSize: number;
  device: InferDevice;
  deviceId?: number;
  /** Translation: new tokens per output at most (default: up to maxSeqLen); `maxTokens` is its older spelling. */
  maxNewTokens?: number;
  maxTokens?: number;
  json: boolean;
}

type DataFlag = 'pairs' | 'text' | 'csv' | 'images' | 'digitsCsv';

/** The data flag each task is scored on. */
const DATA_FLAG: Record<ModelTask, DataFlag> = {
  translation: 'pairs',
  'text-generation': 'text',
  'text-classification': 'csv',
  'image-classification': 'images',
  'image-to-text': 'digitsCsv',
};

const WHAT: Record<DataFlag, string> = {
  pairs: 'TSV source<TAB>reference lines',
  text: 'a text file',
  csv: 'text,label (or text,pair,label) lines',
  images: 'CSV lines of pixel values then the class id',
  digitsCsv: 'digits8x8.csv, whose test rows the scenes are drawn from',
};

/** A data flag as it is typed. */
const flagName = (flag: DataFlag): string => `--${flag === 'digitsCsv' ? 'digits-csv' : flag}`;

/** What `attend eval` found: the metrics and the lines that print them. */
interface EvalReport {
  /** Rows scored (pairs, lines, images) or, for an LM, tokens predicted. */
  examples: number;
  metrics: Record<string, unknown>;
  lines: string[];
}

const count = (n: number): string => n.toLocaleString('en-US');
const percent = (x: number): string => `${(100 * x).toFixed(2)}%`;
const table = (rows: [string, string, string?][]): string[] => {
  const width = Math.max(...rows.map((r) => r[0].length));
  const valueWidth = Math.max(...rows.map((r) => r[1].length));
  return rows.map(([name, value, note]) => `${name.padEnd(width)}  ${value.padStart(valueWidth)}${note ? `  ${note}` : ''}`.trimEnd());
};

/** Translation: greedy outputs of every source, scored against the references (corpus sums). */
async function evalTranslation(runner: ModelRunner, tokenizer: Tokenizer, path: string, o: EvalCommandOptions): Promise<EvalReport> {
  let bleu: BleuStatistics | undefined;
  let chrf: ChrfStatistics | undefined;
  let exact = 0;
  let total = 0;
  const batch: { source: string; reference: string }[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const outputs = (await runner.translate(batch.map((p) => p.source), { kind: 'greedy' }, maxNewTokensOf(o))).map((t) => t.output);
    const references = batch.map((p) => p.reference);
    const b = bleuStatistics(outputs, references);
    const c = chrfStatistics(outputs, references);
    bleu = bleu ? addBleuStatistics(bleu, b) : b;
    chrf = chrf ? addChrfStatistics(chrf, c) : c;
    exact += outputs.filter((out, i) => out === references[i]).length;
    total += batch.length;
    batch.length = 0;
  };
  for await (const { text, line } of fileLines(path)) {
    if (text.trim() === '') continue;
    const [source, reference] = text.split('\t');
    if (reference === undefined) throw new CliError(`${path}:${line}: expected source<TAB>reference, found no tab`);
    if (source!.trim() === '' || reference.trim() === '') throw new CliError(`${path}:${line}: empty ${source!.trim() === '' ? 'source' : 'reference'}`);
    checkLength(tokenizer, source!, runner.config.maxSeqLen, `${path}:${line}: the source`);
    batch.push({ source: source!, reference });
    if (batch.length === o.batchSize) await flush();
  }
  await flush();
  if (!bleu || !chrf) throw new CliError(`${path}: no pairs to score`);
  const b = bleuFromStatistics(bleu);
  const c = chrfFromStatistics(chrf);
  return {
    examples: total,
    metrics: {
      bleu: b.score,
      chrf: c.score,
      exactMatch: exact / total,
      bleuDetails: { precisions: b.precisions, brevityPenalty: b.brevityPenalty, hypLength: b.hypLength, refLength: b.refLength, tokenize: '13a' },
      chrfDetails: { precision: c.precision, recall: c.recall, charOrder: 6, beta: 2 },
      exactMatches: exact,
    },
    lines: table([
      ['BLEU', b.score.toFixed(2), `(13a tokens; n-gram precisions ${b.precisions.map((p) => p.toFixed(1)).join('/')}, brevity penalty ${b.brevityPenalty.toFixed(3)}, ${count(b.hypLength)} output / ${count(b.refLength)} reference tokens)`],
      ['chrF2', c.score.toFixed(2), `(character 6-grams, β = 2; precision ${c.precision.toFixed(1)}, recall ${c.recall.toFixed(1)})`],
      ['exact match', percent(exact / total), `(${count(exact)}/${count(total)})`],
    ]),
  };
}

/**
 * A decoder-lm's perplexity on a text. The text is encoded in pieces that end at line ends,
 * and the token stream is cut into non-overlapping windows of T = maxSeqLen predictions: window
 * k reads tokens kT … kT + T − 1 and predicts tokens kT + 1 … kT + T (the last window may be
 * shorter). Every token but the first is predicted exactly once, from the tokens before it in
 * its window (0 to T − 1 of them). Perplexity = exp(summed NLL / predicted tokens); bits per
 * character = summed NLL / ln 2 / characters of the predicted tokens (the text's characters
 * less those of the first token; with a character tokenizer, one per token).
 */
async function lmScore(runner: ModelRunner, tokenizer: Tokenizer, path: string, o: EvalCommandOptions): Promise<EvalReport> {
  const { maxSeqLen: T, vocabSize: V } = tokenConfig(runner.config, 'perplexity');
  let nll = 0;
  let tokens = 0;
  let characters = 0;
  let firstTokenChars: number | undefined;
  let windows = 0;
  // Tokens not yet predicted, after the last token of the previous window (its context start).
  let pending: number[] = [];
  const run = async (rows: number[][], length: number) => {
    const input = new Int32Array(rows.length * length);
    const labels = new Int32Array(rows.length * length);
    rows.forEach((row, b) => {
      input.set(row.slice(0, length), b * length);
      labels.set(row.slice(1, length + 1), b * length);
    });
    const logits = await runner.lmLogits(input, rows.length, length);
    const scored = nllFromLogits(logits, labels, { vocabSize: V });
    nll += scored.sum;
    tokens += scored.count;
    windows += rows.length;
  };
  const flush = async (final: boolean) => {
    const rows: number[][] = [];
    let start = 0;
    while (pending.length - start >= T + 1) {
      rows.push(pending.slice(start, start + T + 1));
      start += T;
      if (rows.length === o.batchSize) {
        await run(rows, T);
        rows.length = 0;
      }
    }
    if (rows.length > 0) await run(rows, T);
    pending = pending.slice(start);
    if (final && pending.length >= 2) await run([pending], pending.length - 1);
  };
  for await (const piece of textPieces(path)) {
    const ids = tokenizer.encode(piece);
    if (firstTokenChars === undefined && ids.length > 0) firstTokenChars = [...tokenizer.decode([ids[0]!])].length;
    characters += [...piece].length;
    for (const id of ids) pending.push(id); // no spread: a piece may hold many thousands of tokens
    await flush(false);
  }
  await flush(true);
  if (tokens === 0) throw new CliError(`${path}: too short to score (fewer than 2 tokens)`);
  const meanNll = nll / tokens;
  const bpc = bitsPerCharacter(nll, Math.max(1, characters - (firstTokenChars ?? 0)));
  return {
    examples: tokens,
    metrics: { perplexity: perplexity(meanNll), bitsPerCharacter: bpc, meanNll, tokens, characters, windows, windowTokens: T },
    lines: table([
      ['perplexity', perplexity(meanNll).toFixed(3), `(mean NLL ${meanNll.toFixed(4)} nats per token)`],
      ['bits per character', bpc.toFixed(4)],
      ['tokens', count(tokens), `(predicted, in ${count(windows)} non-overlapping windows of up to ${T}; ${count(characters)} characters)`],
    ]),
  };
}

/** Classifiers: accuracy and the confusion matrix over labelled rows, `batchSize` at a time. */
async function evalClassifier<Row>(
  rows: AsyncIterable<{ row: Row; label: number }>,
  classify: (batch: Row[]) => Promise<number[]>,
  numClasses: number,
  path: string,
  o: EvalCommandOptions,
): Promise<EvalReport> {
  let matrix: number[][] | undefined;
  const batch: { row: Row; label: number }[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const predictions = await classify(batch.map((b) => b.row));
    matrix = confusionMatrix(predictions, batch.map((b) => b.label), numClasses, matrix);
    batch.length = 0;
  };
  for await (const row of rows) {
    batch.push(row);
    if (batch.length === o.batchSize) await flush();
  }
  await flush();
  if (!matrix) throw new CliError(`${path}: no labelled rows to score`);
  const total = matrix.flat().reduce((a, b) => a + b, 0);
  const correct = matrix.reduce((a, row, k) => a + row[k]!, 0);
  const labels = Array.from({ length: numClasses }, (_, k) => String(k));
  const width = Math.max(4, ...matrix.flat().map((n) => String(n).length), ...labels.map((l) => l.length));
  const cell = (s: string) => s.padStart(width);
  return {
    examples: total,
    metrics: { accuracy: correct / total, correct, total, confusionMatrix: { labels, rows: 'true class', columns: 'predicted class', matrix } },
    lines: [
      ...table([['accuracy', percent(correct / total), `(${count(correct)}/${count(total)})`]]),
      'confusion matrix (rows: true class, columns: predicted class)',
      `${cell('')} ${labels.map(cell).join(' ')}`,
      ...matrix.map((row, k) => `${cell(labels[k]!)} ${row.map((n) => cell(String(n))).join(' ')}`),
    ],
  };
}

/** A class id field: an integer in [0, numClasses). */
function classId(field: string | undefined, numClasses: number, where: string): number {
  const label = Number(field?.trim());
  if (field === undefined || field.trim() === '' || !Number.isInteger(label) || label < 0 || label >= numClasses) {
    throw new CliError(`${where}: the label must be a class id 0 … ${numClasses - 1} (the model has ${numClasses} classes), got ${JSON.stringify(field ?? '')}`);
  }
  return label;
}

/** One-line error when `text` encodes to more tokens than the model takes. */
function checkLength(tokenizer: Tokenizer, text: string, maxSeqLen: number, what: string): void {
  const n = tokenizer.encode(text).length;
  if (n > maxSeqLen) throw new CliError(`${what} is ${n} tokens long; the model takes at most ${maxSeqLen}`);
}

/** A text to classify, with its pair's second text for a sentence-pair row. */
interface TextRow {
  text: string;
  pair?: string;
}

/**
 * `text,label` lines, or `text,pair,label` (sentence pairs) as the first row has it (one CSV row
 * a line; a first row ending in `label` is a header).
 */
async function* textRows(path: string, numClasses: number, tokenizer: Tokenizer, maxSeqLen: number): AsyncGenerator<{ row: TextRow; label: number }> {
  let columns: 2 | 3 | undefined;
  for await (const { text, line } of fileLines(path)) {
    if (text.trim() === '') continue;
    let record: string[];
    try {
      record = (parse(text, { relax_column_count: true, relax_quotes: true }) as string[][])[0] ?? [];
    } catch (error) {
      throw new CliError(`${path}:${line}: not a CSV row (${(error as Error).message.split('\n')[0]})`);
    }
    columns ??= record.length === 3 ? 3 : 2;
    if (line === 1 && record.at(-1)?.trim().toLowerCase() === 'label') continue;
    const layout = columns === 3 ? 'text,pair,label' : 'text,label';
    if (record.length !== columns) throw new CliError(`${path}:${line}: expected ${columns} columns (${layout}, as the first row), found ${record.length}`);
    const label = classId(record[columns - 1], numClasses, `${path}:${line}`);
    if (record[0]!.length === 0) throw new CliError(`${path}:${line}: empty text`);
    if (columns === 2) {
      checkLength(tokenizer, record[0]!, maxSeqLen, `${path}:${line}: the text`);
      yield { row: { text: record[0]! }, label };
      continue;
    }
    const [first, pair] = [record[0]!, record[1]!];
    if (pair.length === 0) throw new CliError(`${path}:${line}: empty pair text`);
    const n = encoderPairIds(tokenizer, first, pair).ids.length;
    if (n > maxSeqLen) throw new CliError(`${path}:${line}: the pair is ${n} tokens long; the model takes at most ${maxSeqLen}`);
    yield { row: { text: first, pair }, label };
  }
}

/** Image lines: `size` pixel values then the class id; a first line with a field that is not a number is a header. */
async function* imageRows(path: string, size: number, numClasses: number): AsyncGenerator<{ row: Float32Array; label: number }> {
  for await (const { text, line } of fileLines(path)) {
    if (text.trim() === '') continue;
    const fields = text.split(',');
    if (line === 1 && isImageCsvHeader(text)) continue;
    if (fields.length !== size + 1) throw new CliError(`${path}:${line}: ${fields.length} values; expected ${size} pixel values then the class id`);
    const pixels = new Float32Array(size);
    for (let i = 0; i < size; i++) {
      const x = fields[i]!.trim() === '' ? NaN : Number(fields[i]);
      if (!Number.isFinite(x)) throw new CliError(`${path}:${line}: value ${i + 1} is not a number: ${JSON.stringify(fields[i])}`);
      pixels[i] = x;
    }
    yield { row: pixels, label: classId(fields[size], numClasses, `${path}:${line}`) };
  }
}

/** The one data flag given; none or several is a usage error. */
function dataFlag(o: EvalCommandOptions): { flag: DataFlag; path: string } {
  const given = (['pairs', 'text', 'csv', 'images', 'digitsCsv'] as const).filter((k) => o[k] !== undefined);
  if (given.length === 0) throw new CliError('no data to evaluate on: give --pairs FILE, --text FILE, --csv FILE, --images FILE or --digits-csv FILE (the one that fits the model)', 2);
  if (given.length > 1) throw new CliError(`give one data file, not ${given.map(flagName).join(' and ')}`, 2);
  return { flag: given[0]!, path: o[given[0]!]! };
}

export async function evalCommand(model: string, o: EvalCommandOptions): Promise<void> {
  const { flag, path } = dataFlag(o);
  const runner = await openModel(model, o.device, o.deviceId, { hardInference: o.hardInference });
  try {
    reportFallback(runner, o.device);
    const { config, tokenizer } = runner;
    const task = modelTask(config);
    const wanted = DATA_FLAG[task];
    if (flag !== wanted) throw new CliError(`${flagName(flag)}: ${model} holds a ${task} model (${config.preset}); evaluate it with ${flagName(wanted)} FILE (${WHAT[wanted]})`, 2);
    let report: EvalReport;
    if (task === 'image-to-text') {
      const scored = await evalCaptions(runner, imageToTextConfig(config, 'caption evaluation'), o);
      report = { examples: scored.examples, metrics: scored.metrics, lines: table(scored.rows) };
    } else if (task === 'image-classification') {
      const vit = imageConfig(config, 'image evaluation');
      const size = vit.numChannels * vit.imageSize ** 2;
      const classify = async (rows: Float32Array[]) => {
        const pixels = new Float32Array(rows.length * size);
        rows.forEach((r, i) => pixels.set(r, i * size));
        return (await runner.classifyImages(pixels, rows.length)).map((c) => c.label);
      };
      report = await evalClassifier(imageRows(path, size, vit.numClasses), classify, vit.numClasses, path, o);
    } else {
      if (!tokenizer) throw new CliError(`${model}: no tokenizer; cannot encode text for this model`);
      if (task === 'translation') report = await evalTranslation(runner, tokenizer, path, o);
      else if (task === 'text-generation') report = await lmScore(runner, tokenizer, path, o);
      else {
        const classifier = classifierConfig(config, 'text classification');
        const classify = async (rows: TextRow[]) => {
          const pairs = rows[0]?.pair === undefined ? undefined : rows.map((r) => r.pair!);
          return (await runner.classify(rows.map((r) => r.text), pairs)).map((c) => c.label);
        };
        report = await evalClassifier(textRows(path, classifier.numClasses, tokenizer, config.maxSeqLen), classify, classifier.numClasses, path, o);
      }
    }
    if (o.json) {
      console.log(JSON.stringify({ model, file: path, preset: config.preset, task, runtime: runner.runtime, ...(task === 'translation' || task === 'image-to-text' ? { strategy: 'greedy' } : {}), ...readingField(config, o), examples: report.examples, metrics: report.metrics }));
    } else {
      console.log(`${model} (${config.preset}, ${runner.runtime}) on ${path}${task === 'text-generation' ? '' : `: ${count(report.examples)} ${task === 'translation' ? 'pairs, greedy' : task === 'image-classification' ? 'images' : task === 'image-to-text' ? 'scenes, greedy' : 'rows'}`}`);
      for (const line of report.lines) console.log(line);
    }
  } finally {
    await runner.close();
  }
}
