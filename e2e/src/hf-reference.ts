// Test helper: the PyTorch reference script (../hf-reference/hf_reference.py) and the built CLI,
// run as subprocesses, for the tests that compare attend with it.

import { spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../packages/cli/dist/bin.js', import.meta.url));
export const SCRIPT = fileURLToPath(new URL('../hf-reference/hf_reference.py', import.meta.url));
// Debian's interpreter, which python3-torch installs into (a python3 earlier on PATH, e.g. pyenv's, may lack torch).
export const PYTHON = process.env.ATTEND_PYTHON ?? '/usr/bin/python3';

/** Whether PYTHON lacks torch; `test` names the test file in the warning printed then. */
export function torchMissing(test: string): boolean {
  const missing = spawnSync(PYTHON, ['-c', 'import torch'], { stdio: 'ignore' }).status !== 0;
  if (missing) console.warn(`${test}: skipped — ${PYTHON} cannot import torch (install python3-torch, or run scripts/ensure-test-deps.sh)`);
  return missing;
}

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function run(command: string, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** The CLI with `args`. */
export const attend = (args: string[]): Promise<Run> => run(process.execPath, [BIN, ...args]);

/** The CLI's stdout with `args`; an error with its stderr when it fails. */
export async function cli(args: string[]): Promise<string> {
  const r = await attend(args);
  if (r.code !== 0) throw new Error(`attend ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
  return r.stdout;
}

/** The reference script's stdout; an error with its stderr when it fails. */
export async function python(args: string[]): Promise<string> {
  const r = await run(PYTHON, [SCRIPT, ...args]);
  if (r.code !== 0) throw new Error(`hf_reference.py ${args.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** Every number of a nested array, in order. */
export const flat = (x: unknown): number[] => (Array.isArray(x) ? x.flatMap(flat) : [x as number]);
