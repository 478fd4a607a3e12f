// The shared-memory barrier of the data-parallel workers (step-barrier.ts), with real threads. The
// threads run the package's build (dist/), so these tests need `npx tsc -p tsconfig.build.json` first.

import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { barrierBuffer } from './step-barrier.js';

const BUILD = new URL('../dist/step-barrier.js', import.meta.url).href;

/** A thread that runs `body` (the source of an async function of `StepBarrier`, `workerData` and `post`). */
function thread(body: string, workerData: unknown): Worker {
  const code = `
    const { parentPort, workerData } = require('node:worker_threads');
    import(${JSON.stringify(BUILD)}).then(async ({ StepBarrier }) => {
      const post = (m) => parentPort.postMessage(m);
      await (${body})(StepBarrier, workerData, post);
    }).catch((e) => parentPort.postMessage({ error: String(e) }));`;
  return new Worker(code, { eval: true, workerData });
}

/** The first message of `worker`, or a rejection after `ms`. */
function firstMessage(worker: Worker, ms: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no message within ${ms} ms`)), ms);
    worker.once('message', (m) => {
      clearTimeout(timer);
      resolve(m);
    });
  });
}

describe('StepBarrier', () => {
  it('holds every thread until all have arrived, round after round', async () => {
    const parties = 3;
    const rounds = 200;
    const buffer = barrierBuffer();
    const slots = new SharedArrayBuffer(parties * 4);
    // Each thread writes its round number, meets the others, checks every slot holds that round, meets again.
    const body = `async (StepBarrier, { buffer, slots, index, parties, rounds }, post) => {
      const barrier = new StepBarrier(buffer, parties);
      const seen = new Int32Array(slots);
      let stale = 0;
      for (let r = 1; r <= rounds; r++) {
        Atomics.store(seen, index, r);
        barrier.wait();
        for (let i = 0; i < parties; i++) if (Atomics.load(seen, i) !== r) stale++;
        barrier.wait();
      }
      post({ stale });
    }`;
    const workers = Array.from({ length: parties }, (_, index) => thread(body, { buffer, slots, index, parties, rounds }));
    try {
      const results = await Promise.all(workers.map((w) => firstMessage(w, 60_000)));
      expect(results).toEqual(workers.map(() => ({ stale: 0 })));
    } finally {
      await Promise.all(workers.map((w) => w.terminate()));
    }
  }, 90_000);
});
