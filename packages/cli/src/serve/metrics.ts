// The Prometheus metrics of `attend serve` (prom-client, in a registry of the server's own so
// that two servers in one process do not share counters): requests by route and status,
// latency, queue depth and batch sizes, plus prom-client's process metrics (RSS, event loop).

import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export interface ServeMetrics {
  registry: Registry;
  requests: Counter<'route' | 'status'>;
  latency: Histogram<'route'>;
  queueDepth: Gauge;
  batchSize: Histogram;
}

export function createMetrics(maxBatch: number): ServeMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'attend_' });
  const batchBuckets = [1, 2, 4, 8, 16, 32, 64, 128, 256].filter((b) => b <= Math.max(maxBatch, 1));
  return {
    registry,
    requests: new Counter({ name: 'attend_http_requests_total', help: 'HTTP requests by route and status code', labelNames: ['route', 'status'], registers: [registry] }),
    latency: new Histogram({
      name: 'attend_http_request_duration_seconds',
      help: 'Time from request to the end of the response, by route',
      labelNames: ['route'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
      registers: [registry],
    }),
    queueDepth: new Gauge({ name: 'attend_queue_depth', help: 'Requests waiting for a batch', registers: [registry] }),
    batchSize: new Histogram({ name: 'attend_batch_size', help: 'Requests per model batch', buckets: batchBuckets, registers: [registry] }),
  };
}
