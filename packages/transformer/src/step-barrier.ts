// A barrier on shared memory for the data-parallel workers (data-parallel-worker.ts): within a
// step the workers wait for each other here (Atomics.wait/notify) instead of each sending the
// main thread a message and waiting for its next one. Two int32 cells: the count of threads
// arrived in this round and the round's generation. A worker that fails mid-step never arrives:
// the others wait until the main thread, told of the failure, terminates them all
// (`GradientWorkers.close`; terminating a thread ends its Atomics.wait).

const ARRIVED = 0;
const GENERATION = 1;

/** The shared memory of a `StepBarrier`, for every thread that uses it. */
export function barrierBuffer(): SharedArrayBuffer {
  return new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT);
}

/** A reusable barrier for `parties` threads on `buffer` (from `barrierBuffer`). */
export class StepBarrier {
  private readonly cells: Int32Array;

  constructor(buffer: SharedArrayBuffer, private readonly parties: number) {
    this.cells = new Int32Array(buffer);
  }

  /**
   * Blocks until all `parties` threads have called `wait` in this round: what each wrote to shared
   * memory before it is then visible to all. Blocking: for worker threads only.
   */
  wait(): void {
    const cells = this.cells;
    const generation = Atomics.load(cells, GENERATION);
    if (Atomics.add(cells, ARRIVED, 1) === this.parties - 1) {
      Atomics.store(cells, ARRIVED, 0);
      Atomics.add(cells, GENERATION, 1);
      Atomics.notify(cells, GENERATION);
    } else {
      while (Atomics.load(cells, GENERATION) === generation) Atomics.wait(cells, GENERATION, generation);
    }
  }
}
