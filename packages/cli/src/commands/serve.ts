// `attend serve`: loads an export folder and answers HTTP requests until SIGTERM or SIGINT,
// then stops accepting, closes idle and half-sent connections, gives the requests in flight
// --drain-timeout seconds to finish, and exits (see serve/server.ts). A second signal ends it at once.

import { folderKind } from '../model-folder.js';
import { CliError } from '../errors.js';
import { checkDevice, type InferDevice } from '../runner.js';
import { openEngine } from '../serve/engine.js';
import { createServer, TASK_ROUTES } from '../serve/server.js';

export interface ServeCommandOptions {
  host: string;
  port: number;
  device: InferDevice;
  /** cuda: the GPU index. */
  deviceId?: number;
  threads?: number;
  maxBatch: number;
  batchWait: number;
  maxQueue: number;
  timeout: number;
  maxNewTokens: number;
  bodyLimit: number;
  batching: boolean;
  /** Seconds the requests in flight get at shutdown. */
  drainTimeout: number;
}

export async function serveCommand(folder: string, o: ServeCommandOptions): Promise<void> {
  checkDevice(o.device, o.deviceId);
  if ((await folderKind(folder)) !== 'export') throw new CliError(`${folder}: a training checkpoint; serve takes an export folder (attend export ${folder} --out <dir>)`);
  const engine = await openEngine(folder, { device: o.device, ...(o.deviceId === undefined ? {} : { deviceId: o.deviceId }), ...(o.threads ? { numThreads: o.threads } : {}) });
  const server = createServer(engine, {
    bodyLimit: o.bodyLimit,
    maxNewTokens: o.maxNewTokens,
    timeoutMs: o.timeout,
    maxQueue: o.maxQueue,
    maxBatch: o.batching ? o.maxBatch : 1,
    batchWaitMs: o.batchWait,
    drainTimeoutMs: o.drainTimeout * 1000,
  });
  try {
    await server.app.listen({ host: o.host, port: o.port });
  } catch (error) {
    await engine.close();
    throw new CliError(`cannot listen on ${o.host}:${o.port}: ${(error as Error).message}`);
  }
  const address = server.app.server.address();
  const where = typeof address === 'object' && address ? `http://${address.family === 'IPv6' ? `[${address.address}]` : address.address}:${address.port}` : String(address);
  // The handlers go in before the lines that say the server is up: whoever reads them may
  // signal at once, and a signal with no handler yet would kill the process uncleanly.
  const stopped = new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals): void => {
      process.off('SIGTERM', stop);
      process.off('SIGINT', stop);
      console.log(`${signal}: finishing requests in flight (at most ${o.drainTimeout} s), then stopping`);
      resolve();
    };
    process.on('SIGTERM', stop);
    process.on('SIGINT', stop);
  });
  console.log(`serving ${folder} (${engine.config.preset}, ${engine.runtime}) on ${where}`);
  console.log(`  POST ${TASK_ROUTES[engine.task]}   GET /health   GET /metrics   (batching ${o.batching ? `up to ${o.maxBatch}` : 'off'})`);
  await stopped;
  await server.close();
  console.log('stopped');
}
