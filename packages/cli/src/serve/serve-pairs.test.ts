// Sentence pairs in `attend serve`: the classify endpoint takes an optional `pair` for an export
// whose model has token types and answers with the probabilities `attend infer --pair` prints for
// the same export, alone or batched beside single texts; a model without token types refuses
// `pair` with a 400 naming the field.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attend } from '../test-utils/attend.js';
import { tinyExport } from '../test-utils/tiny-export.js';
import { openEngine, type Engine } from './engine.js';
import { createServer, type AttendServer } from './server.js';

let dir: string;
let paired: string;
let plain: string;
const open: AttendServer[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attend-serve-pairs-'));
  paired = await tinyExport(join(dir, 'paired'), 'encoder-classifier', 11, { fields: { typeVocabSize: 2 } });
  plain = await tinyExport(join(dir, 'plain'), 'encoder-classifier', 12);
}, 60_000);

afterAll(async () => {
  for (const s of open) await s.close().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

async function start(folder: string, wrap: (e: Engine) => Engine = (e) => e): Promise<string> {
  const server = createServer(wrap(await openEngine(folder)), { maxBatch: 8 });
  open.push(server);
  return server.app.listen({ host: '127.0.0.1', port: 0 });
}

async function post(url: string, body: unknown): Promise<{ status: number; json: Record<string, any> }> {
  const res = await fetch(`${url}/v1/classify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, any> };
}

/** Probabilities as `attend infer --json` prints them (6 decimals). */
const printed = (p: number[]) => p.map((x) => Number(x.toFixed(6)));

describe('attend serve: sentence pairs', () => {
  const INPUTS = [
    { text: 'the cat', pair: 'sat down' },
    { text: 'abc', pair: 'abc' },
    { text: 'hello world' },
    { text: 'zz', pair: 'a long second text' },
  ];

  it('classifies a pair with the probabilities of attend infer --pair on the same export, alone and batched beside single texts', async () => {
    const inferred: number[][] = [];
    for (const { text, pair } of INPUTS) {
      const r = await attend(['infer', paired, text, ...(pair === undefined ? [] : ['--pair', pair]), '--json']);
      expect(r.code, r.stderr).toBe(0);
      inferred.push((JSON.parse(r.stdout) as { results: { probabilities: number[] }[] }).results[0]!.probabilities);
    }
    const url = await start(paired);
    for (const [i, body] of INPUTS.entries()) {
      const r = await post(url, body);
      expect(r.status, JSON.stringify(r.json)).toBe(200);
      expect(printed(r.json.probabilities), `input ${i}`).toEqual(inferred[i]);
    }
    // The segments matter: the pair's tokens read as one text (all type 0) are another input.
    const joined = await post(url, { text: `${INPUTS[0]!.text}${INPUTS[0]!.pair}` });
    expect(printed(joined.json.probabilities)).not.toEqual(inferred[0]);

    // Batched: the first batch waits until every request is queued, so the rest share one batch.
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const sizes: number[] = [];
    const held = await start(paired, (engine) => ({
      ...engine,
      runClassify: async (inputs, live) => {
        sizes.push(inputs.length);
        await gate;
        return engine.runClassify!(inputs, live);
      },
    }));
    const pending = [INPUTS[0]!, ...INPUTS].map((body) => post(held, body));
    while (sizes.length === 0) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 100)); // the other requests reach the queue
    release();
    const batched = await Promise.all(pending);
    expect(sizes).toEqual([1, INPUTS.length]);
    expect(batched.map((r) => printed(r.json.probabilities))).toEqual([inferred[0], ...inferred]);
  }, 120_000);

  it('refuses a pair for a model without token types, naming the field (400)', async () => {
    const url = await start(plain);
    const r = await post(url, { text: 'the cat', pair: 'sat down' });
    expect(r.status).toBe(400);
    expect(r.json.error).toEqual({
      code: 'invalid_request',
      message: 'pair: sentence pairs need a model with token types for both segments (typeVocabSize 2 or more, as an imported BERT has); this one reads one text',
    });
    expect((await post(url, { text: 'the cat' })).status).toBe(200);
    const wrongType = await post(url, { text: 'the cat', pair: 3 });
    expect([wrongType.status, wrongType.json.error.message]).toEqual([400, 'body/pair must be string']);
  }, 60_000);
});
