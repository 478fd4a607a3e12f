// Test helper: an HTTP server on loopback laid out like the Hugging Face Hub's model routes that
// `attend pull` uses — the file listing (`/api/models/<repo>/tree/<rev>`, paged with a Link
// header) and file downloads (`/<repo>/resolve/<rev>/<path>`, with HTTP ranges) — with the
// checksums the Hub lists (LFS SHA-256, git blob ids) and faults to inject.

import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface HubFile {
  bytes: Uint8Array;
  /** Listed as an LFS file (SHA-256) rather than a git file (blob SHA-1). */
  lfs?: boolean;
}

export interface HubRepo {
  /** Files by path, per revision. */
  revisions: Record<string, Record<string, HubFile>>;
}

export interface FakeHub {
  url: string;
  /** The Range header of every download request (`-` when none), by path. */
  ranges: Record<string, string[]>;
  /** The next full or ranged download of `path` sends `bytes` bytes, then drops the connection. */
  cutAfter(path: string, bytes: number): void;
  /** Downloads of `path` send these bytes instead of the listed file's (the listing stays). */
  corrupt(path: string, bytes: Uint8Array): void;
  /** The next download of `path` waits for `action` (run in this process) before it answers. */
  beforeDownload(path: string, action: () => Promise<void>): void;
  close(): Promise<void>;
}

const gitOid = (bytes: Uint8Array): string => createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/** Starts the server on 127.0.0.1 with `repos` (name → revisions); `pageSize` entries per listing page. */
export async function startFakeHub(repos: Record<string, HubRepo>, pageSize = 2): Promise<FakeHub> {
  const ranges: Record<string, string[]> = {};
  const cuts = new Map<string, number>();
  const corrupted = new Map<string, Uint8Array>();
  const actions = new Map<string, () => Promise<void>>();
  const notFound = (res: ServerResponse, code: string): void => {
    res.writeHead(404, { 'Content-Type': 'application/json', 'X-Error-Code': code }).end(JSON.stringify({ error: `${code}` }));
  };
  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const tree = /^\/api\/models\/(.+)\/tree\/([^/]+)$/.exec(url.pathname);
    if (tree) {
      const files = repos[tree[1]!]?.revisions[decodeURIComponent(tree[2]!)];
      if (!files) return notFound(res, 'RepoNotFound');
      const entries = Object.entries(files).map(([path, f]) => ({
        type: 'file',
        path,
        size: f.bytes.length,
        oid: gitOid(f.lfs ? new TextEncoder().encode(`version https://git-lfs.github.com/spec/v1\noid sha256:${sha256(f.bytes)}\nsize ${f.bytes.length}\n`) : f.bytes),
        ...(f.lfs ? { lfs: { oid: sha256(f.bytes), size: f.bytes.length, pointerSize: 130 } } : {}),
      }));
      const cursor = Number(url.searchParams.get('cursor') ?? 0);
      const page = entries.slice(cursor, cursor + pageSize);
      const headers: Record<string, string> = { 'Content-Type': 'application/json' };
      if (cursor + pageSize < entries.length) {
        const next = new URL(url.href.replace('http://127.0.0.1', `http://${req.headers.host}`));
        next.searchParams.set('cursor', String(cursor + pageSize));
        headers.Link = `<${next.href}>; rel="next"`;
      }
      res.writeHead(200, headers).end(JSON.stringify(page));
      return;
    }
    const resolve = /^\/(.+?\/.+?)\/resolve\/([^/]+)\/(.+)$/.exec(url.pathname);
    if (!resolve) return notFound(res, 'RouteNotFound');
    const files = repos[resolve[1]!]?.revisions[decodeURIComponent(resolve[2]!)];
    if (!files) return notFound(res, 'RepoNotFound');
    const path = decodeURIComponent(resolve[3]!);
    const file = files[path];
    if (!file) return notFound(res, 'EntryNotFound');
    const range = req.headers.range;
    const action = range === 'bytes=0-0' ? undefined : actions.get(path);
    if (action) {
      actions.delete(path);
      void action().then(() => handle(req, res), (error: unknown) => res.destroy(error as Error));
      return;
    }
    const bytes = corrupted.get(path) ?? file.bytes;
    const etag = `"${gitOid(file.bytes)}"`;
    if (range !== 'bytes=0-0') (ranges[path] ??= []).push(range ?? '-');
    const m = range ? /^bytes=(\d+)-(\d*)$/.exec(range) : null;
    const start = m ? Number(m[1]) : 0;
    const end = m && m[2] ? Math.min(Number(m[2]), bytes.length - 1) : bytes.length - 1;
    const body = bytes.subarray(start, end + 1);
    res.writeHead(m ? 206 : 200, {
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(body.length),
      ETag: etag,
      ...(m ? { 'Content-Range': `bytes ${start}-${end}/${bytes.length}` } : {}),
    });
    const cut = range === 'bytes=0-0' ? undefined : cuts.get(path);
    if (cut === undefined) {
      res.end(body);
      return;
    }
    cuts.delete(path);
    res.write(body.subarray(0, cut), () => res.socket?.destroy());
  };
  const server: Server = createServer(handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    ranges,
    cutAfter: (path, bytes) => cuts.set(path, bytes),
    corrupt: (path, bytes) => corrupted.set(path, bytes),
    beforeDownload: (path, action) => actions.set(path, action),
    close: () => new Promise((r) => {
      server.closeAllConnections();
      server.close(() => r());
    }),
  };
}
