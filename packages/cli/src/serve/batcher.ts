// Dynamic batching for `attend serve`: requests wait in one bounded queue; a single worker
// takes the oldest, waits up to `waitMs` for more with the same batch key (requests that can
// share one model call), and runs up to `maxBatch` of them together. One batch runs at a time:
// ONNX Runtime already spreads one call over the cores, so overlapping calls only add waiting.
// Requests that arrive while a batch runs form the next one; the wait is only spent when the
// last batch had company, so a lone client never waits for others.

import { HttpError } from './http-error.js';

export interface BatcherOptions {
  /** Requests run together at most; 1 turns batching off. */
  maxBatch: number;
  /** How long the oldest waiting request waits for others to join its batch (ms). */
  waitMs: number;
  /** Requests waiting at most (not counting the batch running); the next one gets 503. */
  maxQueue: number;
}

/** One request's place in the queue. `cancelled` is set when its client left or timed out. */
export interface Pending<In, Out> {
  readonly input: In;
  readonly key: string;
  cancelled: boolean;
  resolve(output: Out): void;
  reject(error: unknown): void;
}

/**
 * Runs a batch: one output per input, in order. `live(i)` says whether row i still has a client;
 * a runner may stop early when no row has.
 */
export type BatchRunner<In, Out> = (inputs: In[], live: (row: number) => boolean) => Promise<Out[]>;

export interface BatcherEvents {
  onQueueDepth?(depth: number): void;
  onBatch?(size: number): void;
}

export class Batcher<In, Out> {
  private readonly queue: Pending<In, Out>[] = [];
  private running: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastBatchSize = 0;

  constructor(
    private readonly runBatch: BatchRunner<In, Out>,
    private readonly options: BatcherOptions,
    private readonly events: BatcherEvents = {},
  ) {}

  /** Requests waiting (not counting the batch that runs). */
  get depth(): number {
    return this.queue.length;
  }

  /** Whether a batch is running or requests wait. */
  get busy(): boolean {
    return this.running !== undefined || this.queue.length > 0;
  }

  /**
   * Queues `input`; the returned handle can be cancelled, and its promise settles with the
   * output. Throws a 503 HttpError at once when the queue is full.
   */
  submit(input: In, key: string): { pending: Pending<In, Out>; result: Promise<Out> } {
    if (this.queue.length >= this.options.maxQueue) {
      throw new HttpError(503, 'queue_full', `the server is busy (${this.queue.length} requests waiting); retry later`);
    }
    let pending!: Pending<In, Out>;
    const result = new Promise<Out>((resolve, reject) => {
      pending = { input, key, cancelled: false, resolve, reject };
    });
    this.queue.push(pending);
    this.events.onQueueDepth?.(this.queue.length);
    this.schedule();
    return { pending, result };
  }

  /** Drops a waiting request (its promise is left to the caller, which already answered). */
  cancel(pending: Pending<In, Out>): void {
    pending.cancelled = true;
    const i = this.queue.indexOf(pending);
    if (i >= 0) {
      this.queue.splice(i, 1);
      this.events.onQueueDepth?.(this.queue.length);
    }
  }

  /** Resolves when the queue is empty and no batch runs. */
  async drain(): Promise<void> {
    while (this.busy) await (this.running ?? new Promise((r) => setTimeout(r, this.options.waitMs + 1)));
  }

  private schedule(): void {
    if (this.running || this.queue.length === 0) return;
    const full = this.queue.filter((p) => p.key === this.queue[0]!.key).length >= this.options.maxBatch;
    if (full || this.options.maxBatch === 1 || this.options.waitMs <= 0 || this.lastBatchSize <= 1) {
      this.start();
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.start();
    }, this.options.waitMs);
  }

  private start(): void {
    if (this.running || this.queue.length === 0) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const key = this.queue[0]!.key;
    const batch: Pending<In, Out>[] = [];
    for (let i = 0; i < this.queue.length && batch.length < this.options.maxBatch; ) {
      if (this.queue[i]!.key === key) batch.push(...this.queue.splice(i, 1));
      else i++;
    }
    this.events.onQueueDepth?.(this.queue.length);
    this.events.onBatch?.(batch.length);
    this.lastBatchSize = batch.length;
    this.running = this.run(batch).finally(() => {
      this.running = undefined;
      this.schedule();
    });
  }

  private async run(batch: Pending<In, Out>[]): Promise<void> {
    try {
      const outputs = await this.runBatch(
        batch.map((p) => p.input),
        (row) => !batch[row]!.cancelled,
      );
      batch.forEach((p, i) => p.resolve(outputs[i]!));
    } catch (error) {
      for (const p of batch) p.reject(error);
    }
  }
}
