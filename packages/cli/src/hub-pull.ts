// Downloading a model folder from the Hugging Face Hub (or a server laid out like it) for
// `attend pull`, through the @huggingface/hub client: the repository's file list at a revision,
// the files `attend import` reads (or all of them), each streamed to disk with its checksum
// checked — SHA-256 for LFS files, git's blob SHA-1 for the others — into a staging folder
// `<out>.pull-partial` that an interrupted pull of the same repository and revision continues
// (HTTP range requests from where each file stopped), then renamed into place.

import { createHash, type Hash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, resolve, sep } from 'node:path';
import { downloadFile, listFiles, type ListFileEntry } from '@huggingface/hub';
import { swapFolder } from '@attend/core/node';
import { CliError } from './errors.js';

/** The Hub the client talks to unless told otherwise. */
export const DEFAULT_HUB_URL = 'https://huggingface.co';

/** The record of a finished pull, written into the folder: where it came from and each file's checksum. */
export const PULL_MANIFEST = 'attend-pull.json';

/** What the staging folder of an unfinished pull records, so that only the same pull continues it. */
const PULL_STATE = '.attend-pull-state.json';

/** The staging folder of a pull into `out`. */
export const pullStaging = (out: string): string => `${resolve(out)}.pull-partial`;

/**
 * The top-level files `attend import` reads (config, weights, tokenizer, generation and image
 * preprocessing settings), and the model card and licence that come with them.
 */
const IMPORT_FILE = /^(config\.json|generation_config\.json|preprocessor_config\.json|tokenizer\.json|tokenizer_config\.json|special_tokens_map\.json|added_tokens\.json|vocab\.json|vocab\.txt|merges\.txt|[^/]*\.safetensors|model\.safetensors\.index\.json|README\.md|LICEN[CS]E(\.[a-z]+)?)$/i;

/** Weight files attend cannot read, named when a repository has only those. */
const OTHER_WEIGHTS = /^(pytorch_model.*\.bin|tf_model\.h5|flax_model\.msgpack|model\.onnx|.*\.gguf)$/;

export interface PullOptions {
  /** `org/name` (or `name`) of a model repository. */
  repo: string;
  out: string;
  /** Branch, tag or commit; default `main`. */
  revision?: string;
  hubUrl?: string;
  /** Access token for private or gated repositories. */
  token?: string;
  /** Every file of the repository, not only those `attend import` reads. */
  allFiles?: boolean;
  /** Throw away a staging folder left by a pull of another repository or revision. */
  discardOtherPartial?: boolean;
  /**
   * Checked again just before the finished folder replaces `out` (a download can take long, and
   * `out` may have gained files meanwhile); it throws to keep `out` as it is.
   */
  checkOut?: () => Promise<void>;
  onProgress?: (event: PullProgress) => void;
  /** The fetch the client uses (tests). */
  fetch?: typeof fetch;
}

export type PullProgress =
  | { type: 'start'; files: number; bytes: number; resumedBytes: number }
  | { type: 'bytes'; path: string; done: number; total: number }
  | { type: 'file'; path: string; size: number; resumedFrom: number };

export interface PulledFile {
  path: string;
  size: number;
  /** SHA-256 of the content (LFS files). */
  sha256?: string;
  /** git's blob id (SHA-1 of `blob <size>\0` + content) for files kept in git itself. */
  gitOid?: string;
}

export interface PullManifest {
  repo: string;
  revision: string;
  hub: string;
  files: PulledFile[];
}

/** Where the client finds a repository, and how it asks. */
interface HubClient {
  repo: { type: 'model'; name: string };
  revision: string;
  hubUrl: string;
  accessToken?: string;
  fetch?: typeof fetch;
}

const REPO_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)?$/;

/**
 * Downloads the model folder `options.repo` at `options.revision` into `options.out` (which the
 * caller has checked may be written: absent, empty, or an earlier pull to replace). Returns the
 * manifest it wrote. Memory stays bounded by the client's chunk size whatever the file sizes.
 */
export async function pullModel(options: PullOptions): Promise<PullManifest> {
  if (!REPO_NAME.test(options.repo) || options.repo.includes('..')) {
    throw new CliError(`${options.repo}: not a model repository name; give ORG/NAME as on the Hub, e.g. openai-community/gpt2`, 2);
  }
  const hub = (options.hubUrl ?? DEFAULT_HUB_URL).replace(/\/+$/, '');
  const revision = options.revision ?? 'main';
  const client: HubClient = { repo: { type: 'model', name: options.repo }, revision, hubUrl: hub, accessToken: options.token, fetch: options.fetch };
  const where = `${options.repo}@${revision}`;
  const entries = await hubCall(hub, where, async () => {
    const all: ListFileEntry[] = [];
    for await (const entry of listFiles({ ...client, recursive: true })) if (entry.type === 'file') all.push(entry);
    return all;
  });
  const files = chooseFiles(entries, where, options.allFiles ?? false);

  const staging = pullStaging(options.out);
  const state = { repo: options.repo, revision, hub };
  await prepareStaging(staging, state, options.discardOtherPartial ?? false);
  const have = await Promise.all(files.map((f) => stat(inside(staging, f.path)).then((s) => Math.min(s.size, f.size), () => 0)));
  options.onProgress?.({ type: 'start', files: files.length, bytes: files.reduce((n, f) => n + f.size, 0), resumedBytes: have.reduce((a, b) => a + b, 0) });

  const pulled: PulledFile[] = [];
  for (const entry of files) {
    const resumedFrom = await hubCall(hub, where, () => downloadInto(staging, entry, client, options.onProgress));
    pulled.push(checksum(entry));
    options.onProgress?.({ type: 'file', path: entry.path, size: entry.size, resumedFrom });
  }
  const manifest: PullManifest = { repo: options.repo, revision, hub, files: pulled };
  await writeSynced(inside(staging, PULL_MANIFEST), JSON.stringify(manifest, null, 2) + '\n');
  await rm(inside(staging, PULL_STATE));
  await options.checkOut?.();
  await swapFolder(staging, options.out);
  return manifest;
}

/** The files a pull takes from the listing, with a one-line refusal when attend could not import the result. */
function chooseFiles(entries: readonly ListFileEntry[], where: string, allFiles: boolean): ListFileEntry[] {
  const names = entries.map((e) => e.path);
  if (!names.includes('config.json')) throw new CliError(`${where}: has no config.json, so it is not a model folder attend can import`, 2);
  if (!names.some((n) => !n.includes('/') && n.endsWith('.safetensors'))) {
    const other = names.filter((n) => OTHER_WEIGHTS.test(n));
    throw new CliError(`${where}: has no .safetensors weights${other.length ? ` (only ${other.slice(0, 3).join(', ')})` : ''}; attend imports model.safetensors (or its shards) only`, 2);
  }
  return allFiles ? [...entries] : entries.filter((e) => IMPORT_FILE.test(e.path));
}

/** Creates the staging folder, or checks that the one found belongs to this same pull. */
async function prepareStaging(staging: string, state: { repo: string; revision: string; hub: string }, discard: boolean): Promise<void> {
  const found = await readFile(inside(staging, PULL_STATE), 'utf8').then(
    (text) => JSON.parse(text) as typeof state,
    (error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? undefined : Promise.reject(error)),
  ).catch(() => ({ repo: '?', revision: '?', hub: '?' }));
  const exists = await stat(staging).then(() => true, () => false);
  if (exists && !found) throw new CliError(`${staging}: exists but was not made by attend pull; move it away first (nothing was downloaded)`, 2);
  if (found && (found.repo !== state.repo || found.revision !== state.revision || found.hub !== state.hub)) {
    if (!discard) throw new CliError(`${staging}: holds an unfinished pull of ${found.repo}@${found.revision}; pull that again to finish it, or give --overwrite to discard it`, 2);
    await rm(staging, { recursive: true, force: true });
  } else if (found) {
    return;
  }
  await mkdir(staging, { recursive: true });
  await writeSynced(inside(staging, PULL_STATE), JSON.stringify(state) + '\n');
}

/**
 * Streams one file into the staging folder, continuing a partial copy with a range request, and
 * checks its size and checksum; a file that fails the check is removed (the next pull fetches it
 * again). Returns the byte it continued from (0: downloaded whole).
 */
async function downloadInto(staging: string, entry: ListFileEntry, client: HubClient, onProgress: PullOptions['onProgress']): Promise<number> {
  const path = inside(staging, entry.path);
  await mkdir(dirname(path), { recursive: true });
  let from = await stat(path).then((s) => s.size, () => 0);
  if (from > entry.size) {
    await rm(path);
    from = 0;
  }
  const hash = newHash(entry);
  if (from > 0) for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  if (from < entry.size) {
    const blob = await downloadFile({ ...client, path: entry.path });
    if (!blob) throw new CliError(`${client.repo.name}/${entry.path}: listed but not found on the server`);
    const out = createWriteStream(path, { flags: from > 0 ? 'a' : 'w' });
    let done = from;
    try {
      for await (const chunk of (from > 0 ? blob.slice(from) : blob).stream() as unknown as AsyncIterable<Uint8Array>) {
        hash.update(chunk);
        if (!out.write(chunk)) await new Promise<void>((r) => out.once('drain', () => r()));
        done += chunk.length;
        onProgress?.({ type: 'bytes', path: entry.path, done, total: entry.size });
      }
    } catch (error) {
      if (error instanceof CliError) throw error;
      const e = error as Error & { statusCode?: number; cause?: { code?: string } };
      if (e.statusCode !== undefined) throw error;
      throw new CliError(`${client.repo.name}/${entry.path}: download stopped at ${done} of ${entry.size} bytes (${e.cause?.code ?? e.message}); run pull again to continue from there`);
    } finally {
      await new Promise<void>((r, j) => out.end((e?: Error | null) => (e ? j(e) : r())));
    }
    const handle = await open(path, 'r');
    await handle.sync().finally(() => handle.close());
  }
  const size = await stat(path).then((s) => s.size);
  const expected = checksum(entry);
  const got = hash.digest('hex');
  const want = expected.sha256 ?? expected.gitOid;
  if (size !== entry.size || (want !== undefined && got !== want)) {
    await rm(path, { force: true });
    const what = size !== entry.size ? `${size} bytes, expected ${entry.size}` : `${expected.sha256 ? 'sha256' : 'git blob id'} ${got}, expected ${want}`;
    throw new CliError(`${client.repo.name}/${entry.path}: download does not match the Hub's listing (${what}); removed it — run pull again`);
  }
  return from;
}

/** The checksum the listing gives for a file: the LFS SHA-256, or git's blob id for small files. */
function checksum(entry: ListFileEntry): PulledFile {
  if (entry.lfs) return { path: entry.path, size: entry.size, sha256: entry.lfs.oid };
  return { path: entry.path, size: entry.size, ...(entry.oid ? { gitOid: entry.oid } : {}) };
}

/** A hash fed with the file's bytes that ends as the listing's checksum of it. */
function newHash(entry: ListFileEntry): Hash {
  if (entry.lfs) return createHash('sha256');
  return createHash('sha1').update(`blob ${entry.size}\0`);
}

/** `name` inside `folder`; a listed path that would leave it (`../`) is refused. */
function inside(folder: string, name: string): string {
  const path = resolve(folder, name);
  if (!path.startsWith(folder + sep)) throw new CliError(`${name}: a file name from the Hub that is not a path inside the folder`);
  return path;
}

async function writeSynced(path: string, text: string): Promise<void> {
  await writeFile(path, text);
  const handle = await open(path, 'r');
  await handle.sync().finally(() => handle.close());
}

/**
 * Runs a call to the Hub, turning its failures into one line: the host when it cannot be
 * reached, the repository when it is missing, private or gated.
 */
async function hubCall<T>(hub: string, where: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof CliError) throw error;
    const e = error as Error & { statusCode?: number; cause?: { code?: string; message?: string } };
    const host = new URL(hub).host;
    if (e.statusCode === 401 || e.statusCode === 403) throw new CliError(`${where}: ${host} refused access (HTTP ${e.statusCode}); for a private or gated model give --token or set HF_TOKEN`);
    if (e.statusCode === 404) throw new CliError(`${where}: not found on ${host} (no such model or revision, or it is private: give --token)`);
    if (e.statusCode !== undefined) throw new CliError(`${where}: ${host} answered HTTP ${e.statusCode}${e.message ? ` (${e.message.split('\n')[0]})` : ''}`);
    if (e instanceof TypeError || e.cause?.code) throw new CliError(`cannot reach ${host}: ${e.cause?.code ?? e.cause?.message ?? e.message}; check the network (or --hub-url)`);
    throw error;
  }
}
