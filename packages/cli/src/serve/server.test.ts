// `attend serve` in process, over real HTTP on 127.0.0.1 with tiny exported models of each
// preset: the three endpoints, /health and /metrics, validation errors as 4xx JSON, the queue
// answering 503 when full, timeouts, batched outputs equal to one-at-a-time outputs, SSE
// streaming, a client leaving mid-stream, and shutdown finishing the request in flight while
// idle and half-sent connections are closed at once and the drain is bounded.

import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tinyExport } from '../test-utils/tiny-export.js';
import { Batcher } from './batcher.js';
import { openEngine, type DecodeInput, type Engine } from './engine.js';
import { HttpError } from './http-error.js';
import { createServer, type AttendServer, type ServeLimits } from './server.js';
import type { TokenRow } from '../runner.js';

let dir: string;
const folders: Record<'lm' | 'seq2seq' | 'classifier', string> = { lm: '', seq2seq: '', classifier: '' };
const open: AttendServer[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attend-serve-'));
  folders.lm = await tinyExport(dir, 'decoder-lm', 1);
  folders.seq2seq = await tinyExport(dir, 'encoder-decoder', 2);
  folders.classifier = await tinyExport(dir, 'encoder-classifier', 3);
});

afterAll(async () => {
  for (const s of open) await s.close().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

/** A listening server on 127.0.0.1 (a free port) and its base URL. */
async function start(folder: string, limits: Partial<ServeLimits> = {}, wrap?: (e: Engine) => Engine): Promise<{ server: AttendServer; url: string }> {
  const engine = await openEngine(folder);
  const server = createServer(wrap ? wrap(engine) : engine, limits);
  open.push(server);
  const url = await server.app.listen({ host: '127.0.0.1', port: 0 });
  return { server, url };
}

async function post(url: string, body: unknown, init: RequestInit = {}): Promise<{ status: number; json: Record<string, any> }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body), ...init });
  return { status: res.status, json: (await res.json()) as Record<string, any> };
}

/** An engine whose batches wait for `open()`; `started` resolves when the first batch begins. */
function gated(engine: Engine) {
  let release!: () => void;
  let begun!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const started = new Promise<void>((r) => (begun = r));
  const wrapped: Engine = {
    ...engine,
    tokenizer: engine.tokenizer,
    runDecode: async (inputs, live) => {
      begun();
      await gate;
      return engine.runDecode!(inputs, live);
    },
  };
  return { wrapped, started, open: () => release() };
}

async function until(test: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500 && !(await test()); i++) await new Promise((r) => setTimeout(r, 10));
}

describe('one behaviour with the CLI', () => {
  it('says finishReason context when maxSeqLen stops a generation, and slidingWindow goes on past it', async () => {
    const { url } = await start(folders.lm);
    let slid = 0;
    for (const prompt of ['abc', 'the', 'zz', 'hello', 'q', 'mn']) {
      const room = 24 - prompt.length; // maxSeqLen 24, no bos before the prompt
      const stopped = await post(`${url}/v1/generate`, { prompt, maxNewTokens: 40 });
      expect(stopped.status).toBe(200);
      if (stopped.json.finishReason === 'eos') {
        expect(stopped.json.tokens).toBeLessThan(room);
        continue;
      }
      expect(stopped.json).toMatchObject({ finishReason: 'context', tokens: room });
      const sliding = await post(`${url}/v1/generate`, { prompt, maxNewTokens: 40, slidingWindow: true });
      expect(sliding.json.text.startsWith(stopped.json.text)).toBe(true);
      expect(['eos', 'length']).toContain(sliding.json.finishReason);
      if (sliding.json.finishReason === 'length') expect(sliding.json.tokens).toBe(40);
      const short = await post(`${url}/v1/generate`, { prompt, maxNewTokens: 3 });
      expect(short.json).toMatchObject({ finishReason: 'length', tokens: 3 });
      slid += 1;
    }
    expect(slid).toBeGreaterThan(0);
  });

  it('refuses slidingWindow for a model that does not generate', async () => {
    const { url } = await start(folders.seq2seq);
    const r = await post(`${url}/v1/translate`, { text: 'abc', slidingWindow: true });
    expect(r.status).toBe(400);
    expect(r.json.error.message).toBe('slidingWindow: only for a decoder-lm (POST /v1/generate); this server runs preset \'encoder-decoder\'');
  });

  it('warns about characters the tokenizer does not know', async () => {
    const lm = await start(folders.lm);
    const r = await post(`${lm.url}/v1/generate`, { prompt: 'JULY 4th', maxNewTokens: 2 });
    expect(r.json.warnings).toEqual(['prompt: 5 tokens unknown to the tokenizer, read as <unk> ("J", "U", "L", "Y", "4")']);
    expect((await post(`${lm.url}/v1/generate`, { prompt: 'july', maxNewTokens: 2 })).json.warnings).toBeUndefined();
    const classifier = await start(folders.classifier);
    expect((await post(`${classifier.url}/v1/classify`, { text: 'ab!' })).json.warnings).toEqual(['text: 1 token unknown to the tokenizer, read as <unk> ("!")']);
  });

  it('samples with the CLI\'s default seed (1) when a request gives none', async () => {
    const { url } = await start(folders.lm);
    const unseeded = await post(`${url}/v1/generate`, { prompt: 'ab', sample: true, temperature: 2, maxNewTokens: 12 });
    const one = await post(`${url}/v1/generate`, { prompt: 'ab', sample: true, temperature: 2, maxNewTokens: 12, seed: 1 });
    expect(unseeded.json.text).toBe(one.json.text);
  });
});

describe('endpoints', () => {
  it('generates with a decoder-lm, and /v1/translate answers 404 naming the route to use', async () => {
    const { url } = await start(folders.lm);
    const r = await post(`${url}/v1/generate`, { prompt: 'abc', maxNewTokens: 5 });
    expect(r.status).toBe(200);
    expect(r.json.tokens).toBeGreaterThan(0);
    expect(r.json.tokens).toBeLessThanOrEqual(5);
    expect(typeof r.json.text).toBe('string');
    expect(['eos', 'length']).toContain(r.json.finishReason);
    const wrong = await post(`${url}/v1/translate`, { text: 'abc' });
    expect(wrong.status).toBe(404);
    expect(wrong.json.error.code).toBe('task_not_served');
    expect(wrong.json.error.message).toContain('POST /v1/generate');
  });

  it('translates with an encoder-decoder (greedy, beam, seeded sampling)', async () => {
    const { url } = await start(folders.seq2seq);
    const greedy = await post(`${url}/v1/translate`, { text: 'hello world' });
    expect(greedy.status).toBe(200);
    const wrong = await post(`${url}/v1/generate`, { prompt: 'hello' });
    expect(wrong.json.error.message).toBe('this server runs an encoder-decoder export, which answers POST /v1/translate, not /v1/generate');
    expect(typeof greedy.json.text).toBe('string');
    const beam = await post(`${url}/v1/translate`, { text: 'hello world', beam: 3 });
    expect(beam.status).toBe(200);
    const a = await post(`${url}/v1/translate`, { text: 'hello', sample: true, seed: 7, temperature: 1.5 });
    const b = await post(`${url}/v1/translate`, { text: 'hello', sample: true, seed: 7, temperature: 1.5 });
    expect(a.json.text).toBe(b.json.text);
  });

  it('classifies with an encoder-classifier: probabilities over the classes', async () => {
    const { url } = await start(folders.classifier);
    const r = await post(`${url}/v1/classify`, { text: 'some text' });
    expect(r.status).toBe(200);
    expect(r.json.probabilities).toHaveLength(3);
    expect(r.json.probabilities.reduce((s: number, p: number) => s + p, 0)).toBeCloseTo(1, 5);
    expect(r.json.label).toBe(r.json.probabilities.indexOf(Math.max(...r.json.probabilities)));
    expect((await post(`${url}/v1/generate`, { prompt: 'x' })).status).toBe(404);
  });

  it('reports health and Prometheus metrics (requests by route and status, latency, batches)', async () => {
    const { url } = await start(folders.lm);
    const health = (await (await fetch(`${url}/health`)).json()) as Record<string, any>;
    expect(health).toMatchObject({ status: 'ok', task: 'generate', route: '/v1/generate', model: { preset: 'decoder-lm', maxSeqLen: 24 } });
    await post(`${url}/v1/generate`, { prompt: 'ab', maxNewTokens: 2 });
    await post(`${url}/v1/generate`, { prompt: 5 });
    const res = await fetch(`${url}/metrics`);
    expect(res.headers.get('content-type')).toContain('text/plain');
    const text = await res.text();
    expect(text).toContain('attend_http_requests_total{route="/v1/generate",status="200"} 1');
    expect(text).toContain('attend_http_requests_total{route="/v1/generate",status="400"} 1');
    expect(text).toMatch(/attend_http_request_duration_seconds_count\{route="\/v1\/generate"\} 2/);
    expect(text).toContain('attend_batch_size_count 1');
    expect(text).toContain('attend_queue_depth 0');
    expect(text).toContain('attend_process_resident_memory_bytes');
  });
});

describe('validation and limits', () => {
  let url: string;
  beforeAll(async () => {
    ({ url } = await start(folders.lm, { bodyLimit: 2048, maxNewTokens: 8 }));
  });

  it.each([
    ['malformed JSON', '{"prompt": "ab"', 400, 'invalid_json', /JSON/],
    ['a wrong type', { prompt: 5 }, 400, 'invalid_request', /prompt must be string/],
    ['a missing field', { maxNewTokens: 3 }, 400, 'invalid_request', /must have required property 'prompt'/],
    ['an unknown field', { prompt: 'a', temprature: 1 }, 400, 'invalid_request', /additional properties/],
    ['maxNewTokens over the limit', { prompt: 'a', maxNewTokens: 9 }, 400, 'invalid_request', /maxNewTokens must be <= 8/],
    ['maxNewTokens as a string', { prompt: 'a', maxNewTokens: '3' }, 400, 'invalid_request', /maxNewTokens must be integer/],
    ['sampling options without sample', { prompt: 'a', topK: 3 }, 400, 'invalid_request', /topK: only with "sample": true/],
    ['streaming beam search', { prompt: 'a', beam: 2, stream: true }, 400, 'invalid_request', /beam search/],
    ['a body over the limit', { prompt: 'a'.repeat(4000) }, 413, 'body_too_large', /body/i],
    ['a prompt of too many tokens', { prompt: 'a'.repeat(24) }, 413, 'too_many_tokens', /prompt is 24 tokens; this model takes at most 23/],
  ])('answers %s with a one-line JSON error', async (_name, body, status, code, message) => {
    const r = await post(`${url}/v1/generate`, body);
    expect(r.status).toBe(status);
    expect(r.json.error.code).toBe(code);
    expect(r.json.error.message).toMatch(message);
    expect(r.json.error.message).not.toContain('\n');
  });

  it('refuses a seed outside [0, 2^32) with a 400 naming it, rather than aliasing it modulo 2^32', async () => {
    const sample = { prompt: 'ab', maxNewTokens: 8, sample: true, temperature: 2 };
    for (const seed of [2 ** 32, 2 ** 32 + 1, -1]) {
      const r = await post(`${url}/v1/generate`, { ...sample, seed });
      expect(r.status, String(seed)).toBe(400);
      expect(r.json.error).toEqual({ code: 'invalid_request', message: seed < 0 ? 'body/seed must be >= 0' : 'body/seed must be <= 4294967295' });
    }
    const top = await post(`${url}/v1/generate`, { ...sample, seed: 2 ** 32 - 1 });
    expect(top.status).toBe(200);
  });

  it('keeps serving others while a slow client trickles its body', async () => {
    const { port } = new URL(url);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    const body = '{"prompt": "ab", "maxNewTokens": 2}';
    socket.write(`POST /v1/generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body.slice(0, 10)}`);
    const others = await Promise.all([1, 2, 3].map(() => post(`${url}/v1/generate`, { prompt: 'ab', maxNewTokens: 2 })));
    expect(others.map((r) => r.status)).toEqual([200, 200, 200]);
    const answer = new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString()));
      socket.on('end', () => resolve(text));
    });
    socket.write(body.slice(10));
    expect(await answer).toMatch(/^HTTP\/1\.1 200 OK/);
  });

  it('answers bytes that are not HTTP with a JSON 400', async () => {
    const { port } = new URL(url);
    const socket = connect(Number(port), '127.0.0.1');
    const answer = new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString()));
      socket.on('close', () => resolve(text));
    });
    socket.write('HELLO THERE\r\n\r\n');
    const text = await answer;
    expect(text).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n/);
    expect(JSON.parse(text.split('\r\n\r\n')[1]!).error.code).toBe('bad_request');
  });

  it('answers an unknown route and a wrong content type with JSON errors, and keeps serving', async () => {
    const missing = await fetch(`${url}/v2/generate`, { method: 'POST' });
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as any).error.code).toBe('not_found');
    const text = await fetch(`${url}/v1/generate`, { method: 'POST', headers: { 'content-type': 'application/xml' }, body: '<ab/>' });
    expect(text.status).toBe(415);
    expect(((await text.json()) as any).error.code).toBe('unsupported_media_type');
    expect((await post(`${url}/v1/generate`, { prompt: 'ab', maxNewTokens: 3 })).status).toBe(200);
  });
});

describe('queue, timeouts and shutdown', () => {
  it('answers 503 when the queue is full and serves the queued requests once the model is free', async () => {
    const engine = await openEngine(folders.lm);
    const g = gated(engine);
    const { url } = await start(folders.lm, { maxQueue: 1, maxBatch: 1 }, () => g.wrapped);
    const first = post(`${url}/v1/generate`, { prompt: 'ab', maxNewTokens: 3 });
    await g.started; // the first request runs (held at the gate)
    const second = post(`${url}/v1/generate`, { prompt: 'ba', maxNewTokens: 3 });
    await until(async () => ((await (await fetch(`${url}/health`)).json()) as any).queueDepth === 1);
    const third = await post(`${url}/v1/generate`, { prompt: 'cc', maxNewTokens: 3 });
    expect(third.status).toBe(503);
    expect(third.json.error.code).toBe('queue_full');
    g.open();
    expect((await first).status).toBe(200);
    expect((await second).status).toBe(200);
    await engine.close();
  });

  it('answers 504 to a request not done within the timeout', async () => {
    const engine = await openEngine(folders.lm);
    const g = gated(engine);
    const { url } = await start(folders.lm, { timeoutMs: 200 }, () => g.wrapped);
    const r = await post(`${url}/v1/generate`, { prompt: 'ab' });
    expect(r.status).toBe(504);
    expect(r.json.error.code).toBe('timeout');
    g.open();
    await engine.close();
  });

  it('finishes the request in flight on close, and refuses new ones meanwhile', async () => {
    const engine = await openEngine(folders.lm);
    const g = gated(engine);
    const { server, url } = await start(folders.lm, {}, () => g.wrapped);
    const inFlight = post(`${url}/v1/generate`, { prompt: 'ab', maxNewTokens: 4 });
    await g.started;
    const closing = server.close();
    const refused = await fetch(`${url}/health`).then(
      (r) => r.status,
      () => 'connection refused',
    );
    expect([503, 'connection refused']).toContain(refused);
    g.open();
    const r = await inFlight;
    expect(r.status).toBe(200);
    expect(r.json.tokens).toBeGreaterThan(0);
    await closing;
  });

  describe('close() with connections that would hold it open', () => {
    /** A raw connection to the server at `url` that has sent `text`; `closed` settles when the server ends it. */
    async function raw(url: string, text: string) {
      const { hostname, port } = new URL(url);
      const socket = connect(Number(port), hostname);
      await new Promise((r) => socket.once('connect', r));
      let received = '';
      socket.on('data', (d: Buffer) => (received += d.toString()));
      socket.on('error', () => undefined);
      const closed = new Promise<void>((r) => socket.once('close', () => r()));
      socket.write(text);
      return { socket, closed, received: () => received };
    }
    const halfHeaders = 'POST /v1/generate HTTP/1.1\r\nHost: x\r\nContent-Ty';
    const body = '{"prompt": "ab", "maxNewTokens": 2}';
    const halfBody = `POST /v1/generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 10)}`;
    /** Settles with 'done' if `p` settles within `ms`, else 'still open' (the bound, far above what close needs). */
    const within = (p: Promise<unknown>, ms: number) =>
      Promise.race([p.then(() => 'done'), new Promise((r) => setTimeout(() => r('still open'), ms).unref())]);

    it('ends idle keep-alive connections and half-sent requests at once, whatever the drain timeout', async () => {
      const { server, url } = await start(folders.lm, { drainTimeoutMs: 600_000 });
      const idle = await raw(url, 'GET /health HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
      await until(async () => idle.received().includes('"status":"ok"'));
      expect(idle.received()).toMatch(/^HTTP\/1\.1 200 OK/);
      const partialHeaders = await raw(url, halfHeaders);
      const partialBody = await raw(url, halfBody);
      await new Promise((r) => setTimeout(r, 100)); // the server has read what they sent
      expect(await within(server.close(), 5_000)).toBe('done');
      expect(await within(Promise.all([idle.closed, partialHeaders.closed, partialBody.closed]), 1_000)).toBe('done');
    });

    it('lets a slow request in flight finish within the drain while a half-sent request is held', async () => {
      const engine = await openEngine(folders.lm);
      const g = gated(engine);
      const { server, url } = await start(folders.lm, { drainTimeoutMs: 10_000 }, () => g.wrapped);
      const partial = await raw(url, halfBody);
      const inFlight = post(`${url}/v1/generate`, { prompt: 'ab', maxNewTokens: 4 });
      await g.started;
      const closing = server.close();
      expect(await within(partial.closed, 2_000)).toBe('done');
      setTimeout(() => g.open(), 300); // the model answers after the close began
      const r = await inFlight;
      expect(r.status).toBe(200);
      expect(r.json.tokens).toBeGreaterThan(0);
      expect(await within(closing, 5_000)).toBe('done');
    });

    it('bounds the drain: a request still running after drainTimeoutMs loses its connection and close() ends', async () => {
      let started!: () => void;
      const running = new Promise<void>((r) => (started = r));
      // A decode that only stops when its client has gone, as a long generation does.
      const endless = (engine: Engine): Engine => ({
        ...engine,
        tokenizer: engine.tokenizer,
        runDecode: async (inputs, live) => {
          started();
          while (inputs.some((_, row) => live(row))) await new Promise((r) => setTimeout(r, 20));
          throw new Error('every client left');
        },
      });
      const { server, url } = await start(folders.lm, { drainTimeoutMs: 300, timeoutMs: 600_000 }, endless);
      const inFlight = post(`${url}/v1/generate`, { prompt: 'ab', maxNewTokens: 4 }).then(
        (r) => r.status,
        () => 'connection closed',
      );
      await running;
      const began = performance.now();
      expect(await within(server.close(), 5_000)).toBe('done');
      expect(performance.now() - began).toBeGreaterThanOrEqual(250); // it waited for the request first
      expect(await inFlight).toBe('connection closed');
    });
  });

  it('the batcher runs a lone request at once rather than waiting for company (unit)', async () => {
    const sizes: number[] = [];
    const b = new Batcher<number, number>(
      async (xs) => {
        sizes.push(xs.length);
        return xs;
      },
      { maxBatch: 8, waitMs: 600_000, maxQueue: 4 },
    );
    expect(await b.submit(1, 'k').result).toBe(1); // a wait of waitMs would outlast the test
    expect(await b.submit(2, 'k').result).toBe(2);
    expect(sizes).toEqual([1, 1]);
  });

  it('the batcher throws 503 synchronously when full (unit)', async () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const b = new Batcher<number, number>(
      async (xs) => {
        await gate;
        return xs.map((x) => x * 2);
      },
      { maxBatch: 4, waitMs: 0, maxQueue: 2 },
    );
    const r1 = b.submit(1, 'k').result; // runs at once
    const r2 = b.submit(2, 'k').result;
    const r3 = b.submit(3, 'k').result;
    expect(() => b.submit(4, 'k')).toThrow(HttpError);
    release();
    expect(await Promise.all([r1, r2, r3])).toEqual([2, 4, 6]);
  });
});

describe('dynamic batching', () => {
  const prompts = ['abc', 'hello', 'xyz', 'abd', 'world', 'the cat', 'a', 'qrs', 'hallo', 'zzz', 'mno', 'bat'];

  async function batches(url: string): Promise<number> {
    const text = await (await fetch(`${url}/metrics`)).text();
    return Number(/attend_batch_size_count (\d+)/.exec(text)?.[1]);
  }

  /** An engine whose first batch waits for `release()`, so that the other requests queue meanwhile. */
  function holdFirst(engine: Engine) {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const { runDecode, runClassify } = engine;
    const wrapped: Engine = {
      ...engine,
      ...(runDecode ? { runDecode: async (inputs: DecodeInput[], live: (row: number) => boolean) => (await gate, runDecode(inputs, live)) } : {}),
      ...(runClassify ? { runClassify: async (inputs: TokenRow[], live: (row: number) => boolean) => (await gate, runClassify(inputs, live)) } : {}),
    };
    return { wrapped, release: () => release() };
  }

  it.each([
    ['decoder-lm', 'lm', '/v1/generate', 'prompt'],
    ['encoder-decoder', 'seq2seq', '/v1/translate', 'text'],
    ['encoder-classifier', 'classifier', '/v1/classify', 'text'],
  ] as const)('%s: requests queued together share one batch and get what they get one at a time', async (_name, kind, route, field) => {
    const alone = await start(folders[kind], { maxBatch: 1 });
    const engine = await openEngine(folders[kind]);
    const held = holdFirst(engine);
    const batched = await start(folders[kind], { maxBatch: 16 }, () => held.wrapped);
    const bodies = prompts.map((p, i) => (kind === 'classifier' ? { text: p } : { [field]: p, maxNewTokens: 4 + (i % 5) }));
    const one: Awaited<ReturnType<typeof post>>[] = [];
    for (const body of bodies) one.push(await post(`${alone.url}${route}`, body)); // one at a time
    const pending = bodies.map((body) => post(`${batched.url}${route}`, body));
    await until(async () => ((await (await fetch(`${batched.url}/health`)).json()) as any).queueDepth === prompts.length - 1);
    held.release();
    const many = await Promise.all(pending);
    for (const r of [...one, ...many]) expect(r.status).toBe(200);
    if (kind === 'classifier') {
      expect(many.map((r) => r.json.label)).toEqual(one.map((r) => r.json.label));
      many.forEach((r, i) => r.json.probabilities.forEach((p: number, j: number) => expect(p).toBeCloseTo(one[i]!.json.probabilities[j], 5)));
    } else {
      expect(many.map((r) => r.json)).toEqual(one.map((r) => r.json));
    }
    expect(await batches(alone.url)).toBe(prompts.length);
    // the first request ran alone (held); the decoder-lm groups prompts by length, the others run the rest as one batch
    const expected = kind === 'lm' ? 1 + new Set(prompts.slice(1).map((p) => p.length)).size : 2;
    expect(await batches(batched.url)).toBe(expected);
    await engine.close();
  });
});

describe('streaming (SSE)', () => {
  /** Reads an SSE response into events. */
  async function events(res: Response): Promise<{ event: string; data: any }[]> {
    const text = await res.text();
    return text
      .split('\n\n')
      .filter((block) => block.trim() && !block.startsWith(':'))
      .map((block) => {
        const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message';
        return { event, data: JSON.parse(/^data: (.*)$/m.exec(block)![1]!) };
      });
  }

  it('streams token pieces that add up to the non-streamed text', async () => {
    const { url } = await start(folders.seq2seq);
    const whole = await post(`${url}/v1/translate`, { text: 'stream me', maxNewTokens: 10 });
    const res = await fetch(`${url}/v1/translate`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ text: 'stream me', maxNewTokens: 10, stream: true }) });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/event-stream');
    const ev = await events(res);
    const done = ev.at(-1)!;
    expect(done.event).toBe('done');
    expect(done.data).toEqual(whole.json);
    const pieces = ev.filter((e) => e.event === 'message').map((e) => e.data.text as string);
    expect(pieces.join('')).toBe(whole.json.text);
    expect(pieces.length).toBe(whole.json.tokens);
  });

  it('keeps serving others when a client disconnects mid-stream', async () => {
    const engine = await openEngine(folders.lm);
    let release!: () => void;
    const slow = new Promise<void>((r) => (release = r));
    // The first batch waits until its client has left; then no token of it may reach the client.
    let delivered = 0;
    const wrapped: Engine = {
      ...engine,
      runDecode: async (inputs, live) => {
        await slow;
        const counted = inputs.map((x) => ({ ...x, onToken: (id: number) => (delivered++, x.onToken?.(id)) }));
        return engine.runDecode!(counted, live);
      },
    };
    const { url } = await start(folders.lm, { maxBatch: 1 }, () => wrapped);
    await new Promise<void>((resolve, reject) => {
      const req = httpRequest(`${url}/v1/generate`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        expect(res.statusCode).toBe(200);
        res.destroy();
        setTimeout(resolve, 50);
      });
      req.on('error', reject);
      req.end(JSON.stringify({ prompt: 'ab', maxNewTokens: 10, stream: true }));
    });
    release();
    const after = await post(`${url}/v1/generate`, { prompt: 'ab', maxNewTokens: 3 });
    expect(after.status).toBe(200);
    expect(delivered).toBe(after.json.tokens); // the left client's batch stopped before its first token
    const text = await (await fetch(`${url}/metrics`)).text();
    expect(text).toContain('attend_queue_depth 0');
    await engine.close();
  });
});
