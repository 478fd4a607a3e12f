// `attend serve` as a process (the built dist/bin.js): it prints where it listens, answers, and
// on SIGTERM finishes the stream in flight before exiting 0, and exits on SIGTERM or SIGINT
// while clients hold idle or half-sent connections; a checkpoint folder, and an export whose
// tokenizer does not match its model, are refused at startup in one line.

import { spawn, type ChildProcess } from 'node:child_process';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { cp, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CharTokenizer } from '@attend/core';
import { tinyExport } from '../test-utils/tiny-export.js';

const BIN = fileURLToPath(new URL('../../dist/bin.js', import.meta.url));
let dir: string;
let folder: string;

beforeAll(async () => {
  await stat(BIN).catch(() => {
    throw new Error(`${BIN} is missing: build the package first (pnpm --filter @attend/cli build)`);
  });
  dir = await mkdtemp(join(tmpdir(), 'attend-serve-cli-'));
  folder = await tinyExport(dir, 'decoder-lm', 4);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function exited(child: ChildProcess): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
}

describe('attend serve (process)', () => {
  it('finishes the stream in flight on SIGTERM, then exits 0', async () => {
    const child = spawn(process.execPath, [BIN, 'serve', folder, '--port', '0', '--max-new-tokens', '20'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const done = exited(child);
    const url = await new Promise<string>((resolve, reject) => {
      let text = '';
      child.stdout!.on('data', (d: Buffer) => {
        text += d.toString();
        const m = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(text);
        if (m) resolve(m[1]!);
      });
      child.on('close', () => reject(new Error(`attend serve exited: ${text}`)));
    });
    const body = await new Promise<string>((resolve, reject) => {
      const req = httpRequest(`${url}/v1/generate`, { method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
        let text = '';
        let signalled = false;
        res.on('data', (d: Buffer) => {
          text += d.toString();
          if (!signalled) {
            signalled = true;
            child.kill('SIGTERM'); // as soon as the stream has begun
          }
        });
        res.on('end', () => resolve(text));
      });
      req.on('error', reject);
      req.end(JSON.stringify({ prompt: 'abc', maxNewTokens: 20, stream: true }));
    });
    expect(body).toMatch(/event: done\ndata: \{"text":"[a-z ]*","tokens":\d+,"finishReason":"(eos|length)"\}/);
    const r = await done;
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('SIGTERM: finishing requests in flight (at most 10 s), then stopping');
    expect(r.stdout.trimEnd().endsWith('stopped')).toBe(true);
  });

  it.each(['SIGTERM', 'SIGINT'] as const)('exits 0 on %s while clients hold an idle keep-alive connection and a half-sent request', async (signal) => {
    const child = spawn(process.execPath, [BIN, 'serve', folder, '--port', '0', '--drain-timeout', '3'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const done = exited(child);
    const port = await new Promise<number>((resolve, reject) => {
      let text = '';
      child.stdout!.on('data', (d: Buffer) => {
        text += d.toString();
        const m = /on http:\/\/127\.0\.0\.1:(\d+)/.exec(text);
        if (m) resolve(Number(m[1]));
      });
      child.on('close', () => reject(new Error(`attend serve exited: ${text}`)));
    });
    /** A raw connection that has sent `text` and, with `answered`, received an answer that matches it. */
    const hold = async (text: string, answered?: RegExp) => {
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => undefined);
      let received = '';
      await new Promise<void>((resolve) => {
        socket.on('data', (d: Buffer) => {
          received += d.toString();
          if (answered?.test(received)) resolve();
        });
        socket.write(text, () => (answered ? undefined : resolve()));
      });
      return socket;
    };
    const sockets = [
      await hold('GET /health HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n', /"status":"ok"/), // answered, then idle
      await hold('POST /v1/generate HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 40\r\n\r\n{"prompt":'), // half a request
    ];
    await new Promise((r) => setTimeout(r, 200));
    const sent = performance.now();
    child.kill(signal);
    const bound = setTimeout(() => child.kill('SIGKILL'), 15_000); // generous: it asserts that it exits, not how fast
    const r = await done;
    clearTimeout(bound);
    for (const socket of sockets) socket.destroy();
    expect(r.code, `${((performance.now() - sent) / 1000).toFixed(1)} s after ${signal}; ${r.stderr}`).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`${signal}: finishing requests in flight (at most 3 s), then stopping`);
    expect(r.stdout.trimEnd().endsWith('stopped')).toBe(true);
  });

  it('refuses a training checkpoint in one line', async () => {
    const r = await exited(spawn(process.execPath, [BIN, 'serve', join(dir, 'decoder-lm-ckpt')], { stdio: ['ignore', 'pipe', 'pipe'] }));
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`attend: ${join(dir, 'decoder-lm-ckpt')}: a training checkpoint; serve takes an export folder (attend export ${join(dir, 'decoder-lm-ckpt')} --out <dir>)\n`);
  });

  it('refuses at startup, in one line with exit 1, an export whose tokenizer files do not match the model', async () => {
    const wider = CharTokenizer.fromAlphabet('abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ').toJSON();
    const config = JSON.parse(await readFile(join(folder, 'tokenizer_config.json'), 'utf8')) as Record<string, unknown>;
    const cases: [string, string, RegExp][] = [
      ['tokenizer.json', JSON.stringify(wider), /^attend: .*\/tokenizer\.json: 66 tokens but config\.json has vocabSize \d+ \(files from different exports\?\)\n$/],
      ['tokenizer_config.json', JSON.stringify({ ...config, bos_token: '</s>' }), /^attend: .*\/tokenizer_config\.json: bos_token is "<\/s>" but config\.json's bosTokenId 1 is "<s>" in tokenizer\.json\n$/],
    ];
    for (const [file, text, message] of cases) {
      const bad = join(dir, `mismatched-${file}`);
      await cp(folder, bad, { recursive: true });
      await writeFile(join(bad, file), text);
      const r = await exited(spawn(process.execPath, [BIN, 'serve', bad, '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] }));
      expect(r.code, file).toBe(1);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(message);
    }
  });
});
