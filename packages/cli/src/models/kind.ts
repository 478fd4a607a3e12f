// CliKind: what the CLI's commands need of one model kind, in one object per kind
// (models/<kind>.ts), all of them in CLI_KINDS (models/registry.ts). `attend train`, `attention`,
// `export`'s parity check, `bench` and `inspect` look a kind up there and never compare preset
// names; what only depends on the task (infer, generate, eval) asks core's `modelTask`.
// Adding a kind: write models/<kind>.ts with its CliKind and add one line to CLI_KINDS (the
// compiler asks for it). The parts kinds share are in models/train.ts, attention.ts, parity.ts
// and bench.ts.

import type { CaptionAttentionRow, FlopsLengths, GlimpseClassifierConfig, ModelConfig, Rng, Tokenizer, AttentionPick, HardInference } from '@attend/core';
import type { ExportSessions } from '@attend/runtime-onnx';
import type { Task as ServeTask } from '../serve/engine.js';
import type { AttendModel, TrainBatch } from '@attend/transformer';
import type { AttentionSet } from './attention.js';
import type { HardInferenceOption } from '../hard-inference.js';
import type { StnView } from '../stn-figure.js';
import type { TrainData } from '../train-data.js';
import type { TrainSettings } from '../train-settings.js';

/** @attend/transformer, loaded by the command once its flags and files have been checked. */
export type Transformer = typeof import('@attend/transformer');
/** @attend/runtime-onnx's public API. */
export type Runtime = typeof import('@attend/runtime-onnx');

/** A dev metric whose best value the end of a run reports. */
export interface BestMetric {
  metric: string;
  mode: 'min' | 'max';
  /** How the value reads, e.g. "dev BLEU 12.34". */
  describe(value: number): string;
}

/** A trainer-ready task of one kind, with how to report its evaluation. */
export interface KindTask {
  nextBatch(step: number): TrainBatch;
  /**
   * Dev metrics, `loss` (the dev loss) among them; `rows`: the training step's micro-batch, the
   * most examples per forward pass that the memory estimate allows (a kind may evaluate in fewer).
   */
  evaluate(model: AttendModel, rows: number): Promise<Record<string, number>>;
  describeEval(metrics: Record<string, number>): string;
  /** The metrics whose best value is reported at the end. */
  best: BestMetric[];
  /** What the task trains on, for the opening lines. */
  size: string;
  /** The lengths of the task's longest batch (core's batchLengths of its longest input and decoder input), for the memory estimate. */
  lengths: FlopsLengths;
}

/** What `attend train` needs of a kind; `D` is the training data it reads (train-data.ts). */
export interface TrainKind<D extends TrainData = TrainData> {
  /** The data it trains on, as `TrainData['preset']` (pairs serve both encoder–decoders). */
  readonly data: D['preset'];
  /** What the progress line counts: tokens, or examples (classifiers). */
  readonly unit: 'tok/s' | 'examples/s';
  /** The one tokenizer kind its texts take (captions: words); absent: --tokenizer decides. */
  readonly tokenizer?: 'word';
  /** The texts a new run's tokenizer is built from; absent for a kind without text (images). */
  tokenizerTexts?(data: D): string[];
  /**
   * The config fields the data decides for a new run (vocabulary, classes, maxSeqLen, image
   * sizes); `dModel` and `fields` (the settings given) for sizes that follow them.
   */
  sizes(data: D, tokenizer: Tokenizer | undefined, s: TrainSettings, fields: { dModel: number; patchSize?: number }): Record<string, unknown>;
  /** The training task over `data` for `model`, with its dev split and metrics. */
  task(t: Transformer, data: D, tokenizer: Tokenizer | undefined, model: ModelConfig, s: TrainSettings): KindTask;
}

/** What a captioner's `attend attention` shows and runs: the layer and head, and hard attention's reading. */
export type CaptionPick = AttentionPick & HardInferenceOption;

/** The maps `attend attention` shows for one input, and the output the model gave for it. */
export interface KindAttention {
  /** The decoded output (encoder–decoders) or the predicted class (vit-classifier). */
  output?: string;
  /** The set to show first: cross-attention for an encoder–decoder, else self-attention (none for the STN). */
  sets: AttentionSet[];
  /** An stn-classifier's θ and sampled image (drawn instead of attention maps). */
  stn?: StnView;
  /** A captioner's words with each one's attention over the image (drawn instead of attention maps). */
  caption?: CaptionAttentionRow;
  /** A glimpse-classifier's glimpse locations on the input canvas (drawn instead of attention maps). */
  glimpses?: { config: GlimpseClassifierConfig; pixels: Float32Array; locations: [number, number][] };
}

/** Forward (and cached-decode) timings of an export's sessions (`attend bench`). */
export interface ExportTimings {
  forwardMs: number;
  /** The fastest forward call: far below the median when some calls stall (GC, a busy machine). */
  forwardMinMs: number;
  /** Per-token time of cached decoding; absent for kinds that do not decode. */
  decodeMs?: number;
  /** A captioner's: one whole greedy caption of one image. */
  captionMs?: number;
}

/** The largest |tfjs − ORT| over the logits of a few seeded inputs (the parity check of `attend export`). */
export interface Parity {
  /** Largest |tfjs − ORT| over every logit of every input. */
  maxAbsDiff: number;
  /** Rows compared and their lengths (images: patch tokens + CLS). */
  rows: number;
  seqLen: number;
  /** The rows were images (vit-classifier). */
  images?: boolean;
  /** A hard-attention captioner's largest difference for each test-time reading (maxAbsDiff is the largest of them). */
  readings?: Partial<Record<HardInference, number>>;
}

/** What the CLI knows of one model kind; `C` is its config. */
export interface CliKind<C extends ModelConfig> {
  /** attend train. */
  readonly train: TrainKind;
  /** attend attention: the maps of `text` (a vit-classifier: a CSV line of pixel values). */
  readonly attention: {
    /** From a checkpoint's tfjs model; `tokenizer` is there for every kind with text; `pick`: a captioner's --layer and --head (and --hard-inference). */
    checkpoint(t: Transformer, model: AttendModel, config: C, tokenizer: Tokenizer | undefined, text: string, pick?: CaptionPick): Promise<KindAttention>;
    /** From the export folder `dir` (attention outputs: --with-attention). */
    export(dir: string, config: C, text: string, pick?: CaptionPick): Promise<KindAttention>;
  };
  /** The parity check of `attend export`: the checkpoint's `model` against the export folder `exportDir`. */
  parity(t: Transformer, model: AttendModel, config: C, exportDir: string): Promise<Parity>;
  readonly bench: {
    /** Timings of one input of `ids.length` tokens (vit-classifier: one image) over an export's sessions. */
    export(rt: Runtime, config: C, sessions: ExportSessions, ids: Int32Array, seconds: number): Promise<ExportTimings>;
    /** A random training batch of `batchSize` examples of `n` tokens (vit-classifier: images). */
    trainBatch(t: Transformer, config: C, batchSize: number, n: number, rng: Rng): TrainBatch;
  };
  /** attend inspect: what the FLOPs' length is counted over. */
  readonly flopsLength: 'source' | 'context';
  /** attend serve: the task it serves the kind's exports for; absent for kinds it does not serve. */
  readonly serve?: ServeTask;
}
