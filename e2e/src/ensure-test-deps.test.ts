// scripts/ensure-test-deps.sh, which `npm test` and .ci/run call first: a no-op when chromium is
// there and python3 imports torch; otherwise apt-get update, then apt-get install -y with what is
// missing (chromium, python3-torch), through sudo only when not root, and nothing else. apt-get,
// sudo, id and the two pythons (one with torch, one without) are stand-ins that log their calls.

import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SCRIPT = join(ROOT, 'scripts/ensure-test-deps.sh');
let dir: string;
let bin: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attend-test-deps-'));
  bin = join(dir, 'bin');
  await mkdir(bin);
  const stub = async (name: string, body: string): Promise<void> => {
    await writeFile(join(bin, name), `#!/bin/sh\n${body}\n`);
    await chmod(join(bin, name), 0o755);
  };
  await stub('apt-get', 'echo "apt-get $*" >> "$CALLS"');
  await stub('sudo', 'echo "sudo" >> "$CALLS"; exec "$@"');
  await stub('id', 'echo "$FAKE_UID"');
  await writeFile(join(dir, 'chromium'), '#!/bin/sh\n');
  await chmod(join(dir, 'chromium'), 0o755);
  await writeFile(join(dir, 'python-with-torch'), '#!/bin/sh\n[ "$*" = "-c import torch" ]\n');
  await writeFile(join(dir, 'python-without-torch'), '#!/bin/sh\nexit 1\n');
  await chmod(join(dir, 'python-with-torch'), 0o755);
  await chmod(join(dir, 'python-without-torch'), 0o755);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(chromium: string, uid: number, torch = true): Promise<{ status: number | null; calls: string[] }> {
  const calls = join(dir, `calls-${uid}-${chromium.length}-${torch}`);
  await writeFile(calls, '');
  const python = join(dir, torch ? 'python-with-torch' : 'python-without-torch');
  const r = spawnSync('sh', [SCRIPT, chromium, python], { env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, CALLS: calls, FAKE_UID: String(uid) }, encoding: 'utf8' });
  return { status: r.status, calls: (await readFile(calls, 'utf8')).split('\n').filter(Boolean) };
}

describe('scripts/ensure-test-deps.sh', () => {
  it('does nothing when chromium is there and python3 imports torch', async () => {
    expect(await run(join(dir, 'chromium'), 1000)).toEqual({ status: 0, calls: [] });
  });

  it('installs Debian chromium with apt-get when it is missing: as root directly, otherwise through sudo', async () => {
    const missing = join(dir, 'no-chromium');
    expect(await run(missing, 0)).toEqual({ status: 0, calls: ['apt-get update', 'apt-get install -y chromium'] });
    expect(await run(missing, 1000)).toEqual({ status: 0, calls: ['sudo', 'apt-get update', 'sudo', 'apt-get install -y chromium'] });
  });

  it('installs Debian python3-torch when python3 cannot import torch, in the same apt-get install as chromium', async () => {
    expect(await run(join(dir, 'chromium'), 0, false)).toEqual({ status: 0, calls: ['apt-get update', 'apt-get install -y python3-torch'] });
    expect(await run(join(dir, 'no-chromium'), 1000, false)).toEqual({ status: 0, calls: ['sudo', 'apt-get update', 'sudo', 'apt-get install -y chromium python3-torch'] });
  });

  it('is what npm test and .ci/run call first', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.test).toMatch(/^sh scripts\/ensure-test-deps\.sh && /);
    const ci = await readFile(join(ROOT, '.ci/run'), 'utf8');
    expect(ci).toMatch(/\nsh scripts\/ensure-test-deps\.sh\nnpm test\n/);
    expect(ci).not.toMatch(/apt-get/);
  });
});
