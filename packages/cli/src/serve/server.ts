// The HTTP server of `attend serve` (fastify): JSON endpoints for the loaded model's task with
// JSON-schema request validation, limits, per-request timeouts, a bounded batching queue,
// server-sent events for `"stream": true`, /health and Prometheus /metrics. Every error is a
// JSON body `{ "error": { "code", "message" } }` with a 4xx/5xx status.

import type { Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { MAX_SEED, pairRefusal, unknownText, unknownTextWarning, type DecodeStrategy } from '@attend/core';
import { exportKind } from '@attend/runtime-onnx';
import { Batcher, type Pending } from './batcher.js';
import type { ClassifyOutput, DecodeInput, DecodeOutput, Engine, Task } from './engine.js';
import type { TokenRow } from '../runner.js';
import { errorBody, HttpError } from './http-error.js';
import { createMetrics, type ServeMetrics } from './metrics.js';
import { MAX_BEAMS } from '../inputs.js';
import { DEFAULT_SEED } from '../options.js';

export interface ServeLimits {
  /** Request bodies larger than this get 413 (bytes). */
  bodyLimit: number;
  /** New tokens a request may ask for at most (also capped by maxSeqLen). */
  maxNewTokens: number;
  /** A request not answered in this time gets 504 (ms). */
  timeoutMs: number;
  /** Requests waiting at most; the next gets 503. */
  maxQueue: number;
  /** Requests per model call at most; 1 turns batching off. */
  maxBatch: number;
  /** How long a request waits for others to share its batch, when the last batch had several (ms). */
  batchWaitMs: number;
  /** At shutdown, how long requests in flight may take to finish before their connections are closed (ms). */
  drainTimeoutMs: number;
}

export const DEFAULT_LIMITS: ServeLimits = {
  bodyLimit: 64 * 1024,
  maxNewTokens: 256,
  timeoutMs: 30_000,
  maxQueue: 256,
  maxBatch: 32,
  batchWaitMs: 5,
  drainTimeoutMs: 10_000,
};

/** The routes of each task. */
export const TASK_ROUTES: Record<Task, string> = {
  generate: '/v1/generate',
  translate: '/v1/translate',
  classify: '/v1/classify',
};

export interface AttendServer {
  app: FastifyInstance;
  metrics: ServeMetrics;
  /**
   * Stops accepting connections, closes those without a request in its handler (idle keep-alive
   * ones, and ones still sending a request), lets the requests in flight finish for at most
   * `drainTimeoutMs`, closes what is left, then releases the model.
   */
  close(): Promise<void>;
}

interface DecodeBody {
  prompt?: string;
  text?: string;
  maxNewTokens?: number;
  stream?: boolean;
  sample?: boolean;
  temperature?: number;
  topK?: number;
  topP?: number;
  seed?: number;
  beam?: number;
  slidingWindow?: boolean;
}

function decodeSchema(field: 'prompt' | 'text', limits: ServeLimits) {
  return {
    type: 'object',
    required: [field],
    additionalProperties: false,
    properties: {
      [field]: { type: 'string' },
      maxNewTokens: { type: 'integer', minimum: 1, maximum: limits.maxNewTokens },
      stream: { type: 'boolean' },
      sample: { type: 'boolean' },
      temperature: { type: 'number', exclusiveMinimum: 0 },
      topK: { type: 'integer', minimum: 1 },
      topP: { type: 'number', exclusiveMinimum: 0, maximum: 1 },
      seed: { type: 'integer', minimum: 0, maximum: MAX_SEED }, // larger seeds would alias modulo 2^32
      beam: { type: 'integer', minimum: 1, maximum: MAX_BEAMS },
      slidingWindow: { type: 'boolean' },
    },
  } as const;
}

const classifySchema = {
  type: 'object',
  required: ['text'],
  additionalProperties: false,
  properties: { text: { type: 'string' }, pair: { type: 'string' } },
} as const;

function strategyOf(body: DecodeBody): DecodeStrategy {
  const samplingFields = (['temperature', 'topK', 'topP', 'seed'] as const).filter((k) => body[k] !== undefined);
  if (body.beam !== undefined && body.sample) throw new HttpError(400, 'invalid_request', 'beam and sample exclude each other; choose one');
  if (!body.sample && samplingFields.length > 0) throw new HttpError(400, 'invalid_request', `${samplingFields.join(', ')}: only with "sample": true`);
  if (body.sample) {
    return {
      kind: 'sample',
      seed: body.seed ?? DEFAULT_SEED,
      ...(body.temperature !== undefined ? { temperature: body.temperature } : {}),
      ...(body.topK !== undefined ? { topK: body.topK } : {}),
      ...(body.topP !== undefined ? { topP: body.topP } : {}),
    };
  }
  if (body.beam !== undefined && body.beam > 1) return { kind: 'beam', beamSize: body.beam };
  return { kind: 'greedy' };
}

/** fastify's own 4xx errors (bad JSON, body too large, wrong content type) as stable codes. */
function fastifyErrorCode(error: FastifyError): string {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return 'body_too_large';
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return 'unsupported_media_type';
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
      return 'invalid_json';
    default:
      return error instanceof SyntaxError ? 'invalid_json' : 'bad_request';
  }
}

/** Builds the server around a loaded engine; call `app.listen` (or `app.inject`) to use it. */
export function createServer(engine: Engine, limitsIn: Partial<ServeLimits> = {}): AttendServer {
  const limits: ServeLimits = { ...DEFAULT_LIMITS, ...limitsIn };
  const metrics = createMetrics(limits.maxBatch);
  const app = Fastify({
    logger: false,
    bodyLimit: limits.bodyLimit,
    requestTimeout: 10_000, // a client has 10 s to send its request (slow-client guard)
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, allErrors: false } },
    // Bytes that are not HTTP, or a request not received within requestTimeout: the same JSON errors.
    clientErrorHandler: (error: NodeJS.ErrnoException, socket) => {
      if (error.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
      const [status, reason, code] = error.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'Request Timeout', 'request_timeout'] : [400, 'Bad Request', 'bad_request'];
      const body = JSON.stringify(errorBody(code, `not a valid HTTP request (${error.code ?? error.message})`));
      socket.end(`HTTP/1.1 ${status} ${reason}\r\ncontent-type: application/json; charset=utf-8\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    },
  });
  const batchEvents = {
    onQueueDepth: (depth: number) => metrics.queueDepth.set(depth),
    onBatch: (size: number) => metrics.batchSize.observe(size),
  };
  const options = { maxBatch: limits.maxBatch, waitMs: limits.batchWaitMs, maxQueue: limits.maxQueue };
  const decoder = engine.runDecode ? new Batcher<DecodeInput, DecodeOutput>(engine.runDecode, options, batchEvents) : undefined;
  const classifier = engine.runClassify ? new Batcher<TokenRow, ClassifyOutput>(engine.runClassify, options, batchEvents) : undefined;
  let nextId = 0;

  app.setErrorHandler((error: FastifyError | HttpError, _request, reply) => {
    if (error instanceof HttpError) return reply.status(error.statusCode).send(errorBody(error.code, error.message));
    if (error.validation) return reply.status(400).send(errorBody('invalid_request', `${error.validationContext ?? 'body'}${error.message.replace(/^body/, '')}`));
    const status = error.statusCode ?? 500;
    if (status >= 400 && status < 500) return reply.status(status).send(errorBody(fastifyErrorCode(error), error.message));
    return reply.status(500).send(errorBody('internal', (error.message || String(error)).split('\n')[0]!));
  });
  app.setNotFoundHandler((request, reply) => {
    reply.status(404).send(errorBody('not_found', `no route ${request.method} ${request.url}; this server answers POST ${TASK_ROUTES[engine.task]}, GET /health, GET /metrics`));
  });
  let closing = false;
  app.addHook('onSend', async (_request, reply) => {
    if (closing) reply.header('connection', 'close'); // let keep-alive clients go, so that close() ends
  });
  // Every open connection, and how many of its requests are in flight: received whole (their
  // handler runs once the body is in) and not yet answered. close() ends the others at once.
  const connections = new Map<Socket, number>();
  app.server.on('connection', (socket: Socket) => {
    connections.set(socket, 0);
    socket.once('close', () => connections.delete(socket));
  });
  app.addHook('preValidation', async (request, reply) => {
    const socket = request.raw.socket;
    if (!connections.has(socket)) return; // app.inject: no socket of ours
    connections.set(socket, connections.get(socket)! + 1);
    reply.raw.once('close', () => {
      if (connections.has(socket)) connections.set(socket, connections.get(socket)! - 1);
    });
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    metrics.requests.inc({ route, status: String(reply.statusCode) });
    metrics.latency.observe({ route }, reply.elapsedTime / 1000);
  });

  /** Waits for a queued request with the timeout and the client's departure applied. */
  function awaitResult<In, Out>(batcher: Batcher<In, Out>, reply: FastifyReply, queued: { pending: Pending<In, Out>; result: Promise<Out> }): Promise<Out> {
    return new Promise<Out>((resolve, reject) => {
      const timer = setTimeout(() => {
        batcher.cancel(queued.pending);
        reject(new HttpError(504, 'timeout', `no answer within ${limits.timeoutMs} ms; the request was dropped`));
      }, limits.timeoutMs);
      reply.raw.once('close', () => {
        if (!reply.raw.writableFinished) batcher.cancel(queued.pending); // the client left
      });
      queued.result.then(
        (out) => {
          clearTimeout(timer);
          resolve(out);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  /**
   * The input's ids (`engine.encode`: for an LM without bos, as the CLI and the playground), or
   * with `pair` a sentence pair's ids and token types (`engine.encodePair`), and a warning for
   * each field the tokenizer reads some of as <unk>.
   */
  function tokenize(text: string, field: string, pair?: string): { row: TokenRow; warnings?: string[] } {
    const row = pair === undefined ? { ids: engine.encode(text) } : engine.encodePair!(text, pair);
    const what = pair === undefined ? `${field} is` : `${field} and pair are`;
    if (row.ids.length > engine.maxInputTokens) {
      throw new HttpError(413, 'too_many_tokens', `${what} ${row.ids.length} tokens; this model takes at most ${engine.maxInputTokens}`);
    }
    if (row.ids.length === 0) throw new HttpError(400, 'invalid_request', `${what} empty`);
    const fields: [string, string][] = pair === undefined ? [[field, text]] : [[field, text], ['pair', pair]];
    const warnings = fields.flatMap(([name, value]) => unknownTextWarning(unknownText(engine.tokenizer, value), name) ?? []);
    return { row, ...(warnings.length ? { warnings } : {}) };
  }

  async function decodeRoute(field: 'prompt' | 'text', request: FastifyRequest<{ Body: DecodeBody }>, reply: FastifyReply) {
    const body = request.body;
    if (body.slidingWindow && engine.task !== 'generate') throw new HttpError(400, 'invalid_request', `slidingWindow: only for a decoder-lm (POST ${TASK_ROUTES.generate}); this server runs preset '${engine.config.preset}'`);
    const { row, warnings } = tokenize(body[field]!, field);
    const ids = [...row.ids];
    const strategy = strategyOf(body);
    if (body.stream && strategy.kind === 'beam') throw new HttpError(400, 'invalid_request', 'stream: beam search returns whole hypotheses; stream greedy or sampled decoding');
    const input: DecodeInput = { ids, maxNewTokens: body.maxNewTokens ?? limits.maxNewTokens, strategy, ...(body.slidingWindow ? { slidingWindow: true } : {}) };
    const id = nextId++;
    const result = (out: DecodeOutput) => ({ text: engine.tokenizer.decode(out.ids), tokens: out.ids.length, finishReason: out.finishReason, ...(warnings ? { warnings } : {}) });
    if (!body.stream) {
      const queued = decoder!.submit(input, engine.batchKey(input, id));
      return result(await awaitResult(decoder!, reply, queued));
    }
    // Server-sent events: one `data: {"text": piece}` per token, then `event: done` or `event: error`.
    const stream = new PassThrough();
    stream.write(': attend\n\n'); // an SSE comment, so that the client gets the headers before the first token
    const send = (event: string | undefined, data: unknown): void => {
      if (!stream.destroyed && !stream.writableEnded) stream.write(`${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`);
    };
    const sofar: number[] = [];
    let shown = '';
    input.onToken = (token) => {
      sofar.push(token);
      const text = engine.tokenizer.decode(sofar);
      if (text.endsWith('\uFFFD') || !text.startsWith(shown)) return; // a byte-level token cut a character; wait for the rest
      send(undefined, { text: text.slice(shown.length) });
      shown = text;
    };
    const queued = decoder!.submit(input, engine.batchKey(input, id));
    awaitResult(decoder!, reply, queued).then(
      (out) => {
        send('done', result(out));
        stream.end();
      },
      (error: unknown) => {
        const e = error instanceof HttpError ? error : new HttpError(500, 'internal', String((error as Error)?.message ?? error).split('\n')[0]!);
        send('error', errorBody(e.code, e.message));
        stream.end();
      },
    );
    return reply.header('content-type', 'text/event-stream; charset=utf-8').header('cache-control', 'no-cache').send(stream);
  }

  const wrongTask = (route: Task) => async () => {
    throw new HttpError(404, 'task_not_served', `this server runs ${exportKind(engine.config.preset)}, which answers POST ${TASK_ROUTES[engine.task]}, not ${TASK_ROUTES[route]}`);
  };

  for (const task of ['generate', 'translate'] as const) {
    const field = task === 'generate' ? 'prompt' : 'text';
    if (engine.task === task) {
      app.post<{ Body: DecodeBody }>(TASK_ROUTES[task], { schema: { body: decodeSchema(field, limits) } }, (request, reply) => decodeRoute(field, request, reply));
    } else {
      app.post(TASK_ROUTES[task], wrongTask(task));
    }
  }
  if (engine.task === 'classify') {
    app.post<{ Body: { text: string; pair?: string } }>(TASK_ROUTES.classify, { schema: { body: classifySchema } }, async (request, reply) => {
      const { text, pair } = request.body;
      const refusal = pair === undefined ? undefined : pairRefusal(engine.config, 'pair');
      if (refusal) throw new HttpError(400, 'invalid_request', refusal);
      const { row, warnings } = tokenize(text, 'text', pair);
      return { ...(await awaitResult(classifier!, reply, classifier!.submit(row, 'classify'))), ...(warnings ? { warnings } : {}) };
    });
  } else {
    app.post(TASK_ROUTES.classify, wrongTask('classify'));
  }

  app.get('/health', async () => ({
    status: 'ok',
    task: engine.task,
    route: TASK_ROUTES[engine.task],
    runtime: engine.runtime,
    model: { preset: engine.config.preset, vocabSize: engine.config.vocabSize, maxSeqLen: engine.config.maxSeqLen },
    queueDepth: (decoder ?? classifier)!.depth,
  }));
  app.get('/metrics', async (_request, reply) => {
    reply.header('content-type', metrics.registry.contentType);
    return metrics.registry.metrics();
  });

  return {
    app,
    metrics,
    async close() {
      closing = true;
      // Idle keep-alive connections and half-sent requests would hold close() open for ever;
      // so would a connection whose last response ends during close(). The deadline ends the rest.
      const endIdle = (): void => {
        for (const [socket, inFlight] of connections) if (inFlight === 0) socket.destroy();
      };
      const sweep = setInterval(endIdle, 50);
      const deadline = setTimeout(() => {
        for (const socket of connections.keys()) socket.destroy();
      }, limits.drainTimeoutMs);
      try {
        const closed = app.close();
        endIdle();
        await closed;
      } finally {
        clearInterval(sweep);
        clearTimeout(deadline);
      }
      await (decoder ?? classifier)!.drain();
      await engine.close();
    },
  };
}
