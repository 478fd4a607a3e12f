// The published packages work outside the monorepo: `pnpm pack` each public package (which
// rewrites workspace:* to the packed versions), install the tarballs into an empty project in
// the OS temp folder (offline where the store allows, no dependency build scripts, @attend/*
// resolved to the tarballs by overrides), typecheck and run packed-project/main.mjs — train,
// save, export, translate with onnxruntime-node through the public imports only — and run the
// installed `attend` bin: --help, then train, export and infer a copy-task model.

import { execFile } from 'node:child_process';
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repo = resolve(fileURLToPath(import.meta.url), '../../..');
const PACKAGES = ['core', 'transformer', 'runtime-onnx', 'cli'] as const;

let root: string;
let project: string;

/** Runs `command args` in `cwd` with dependency build scripts and onnxruntime's CUDA download off. */
async function sh(cwd: string, command: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  const env = { ...process.env, ONNXRUNTIME_NODE_INSTALL: 'skip', npm_config_ignore_scripts: 'true' };
  try {
    return await run(command, args, { cwd, env, maxBuffer: 64 * 1024 * 1024 });
  } catch (e) {
    const { stdout = '', stderr = '' } = e as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} (in ${cwd}) failed:\n${stdout}\n${stderr}`);
  }
}
const pnpm = (cwd: string, args: string[]) => sh(cwd, process.execPath, [join(repo, 'scripts/pnpm.mjs'), ...args]);

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'attend-packed-'));
  const tarballs = join(root, 'tarballs');
  project = join(root, 'project');
  await mkdir(project);
  for (const name of PACKAGES) await pnpm(join(repo, 'packages', name), ['pack', '--pack-destination', tarballs]);
  const files = await readdir(tarballs);
  const tarball = (name: string): string => {
    const file = files.find((f) => f.startsWith(`attend-${name}-`) && f.endsWith('.tgz'));
    if (!file) throw new Error(`no tarball of @attend/${name} in ${files.join(', ')}`);
    return `file:${join(tarballs, file)}`;
  };
  const attend = Object.fromEntries(PACKAGES.map((name) => [`@attend/${name}`, tarball(name)]));
  const manifest = {
    name: 'attend-packed-project',
    private: true,
    type: 'module',
    dependencies: { ...attend, typescript: '5.9.3', '@types/node': '^20.19.0' },
    // The packed packages depend on each other by version (0.1.0): resolve those to the tarballs too.
    pnpm: { overrides: attend },
  };
  await writeFile(join(project, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  for (const file of ['main.mjs', 'tsconfig.json']) await copyFile(join(repo, 'e2e/packed-project', file), join(project, file));
  await pnpm(project, ['install', '--prefer-offline', '--ignore-scripts']);
}, 600_000);

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe('the packed packages, installed outside the monorepo', () => {
  it('main.mjs typechecks against the packed .d.ts files', async () => {
    await sh(project, process.execPath, [join(project, 'node_modules/typescript/bin/tsc'), '-p', '.']);
  });

  it('main.mjs trains, saves, exports and translates with onnxruntime-node', async () => {
    const { stdout } = await sh(project, process.execPath, ['main.mjs', join(root, 'api')]);
    const result = JSON.parse(stdout) as {
      reason: string;
      steps: number;
      losses: number[];
      vocabSize: number;
      eosTokenId: number;
      translations: { source: string; ids: number[]; text: string }[];
    };
    expect(result.reason).toBe('completed');
    expect(result.steps).toBe(20);
    expect(result.losses).toHaveLength(20);
    expect(result.losses.at(-1)!).toBeLessThan(result.losses[0]!);
    expect(result.translations.map((t) => t.source)).toEqual(['abc', 'edcba', 'ba']);
    for (const { ids, text } of result.translations) {
      expect(ids.length).toBeGreaterThan(0);
      expect(ids.length).toBeLessThanOrEqual(6);
      // Ids of the vocabulary, up to (without) the eos that ended the output.
      for (const id of ids) {
        expect(Number.isInteger(id)).toBe(true);
        expect(id).toBeGreaterThanOrEqual(0);
        expect(id).toBeLessThan(result.vocabSize);
        expect(id).not.toBe(result.eosTokenId);
      }
      expect(text).toMatch(/^[a-e]*$/);
    }
  });

  it('the attend bin runs: --help, then train, export and infer a copy-task model', async () => {
    const attend = (args: string[]) => sh(project, join(project, 'node_modules/.bin/attend'), args);
    expect((await attend(['--help'])).stdout).toMatch(/Usage: attend .*train/s);
    const ckpt = join(root, 'cli-run');
    const onnx = join(root, 'cli-onnx');
    await attend(['train', '--task', 'copy', '--steps', '5', '--out', ckpt]);
    await attend(['export', ckpt, '--out', onnx]);
    const { stdout } = await attend(['infer', onnx, 'abc', '--json']);
    const result = JSON.parse(stdout) as { preset: string; runtime: string; results: { input: string; output: string }[] };
    expect(result.preset).toBe('encoder-decoder');
    expect(result.runtime).toMatch(/^onnxruntime-node/);
    expect(result.results.map((r) => r.input)).toEqual(['abc']);
    expect(typeof result.results[0]!.output).toBe('string');
  });
});
