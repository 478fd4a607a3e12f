// Test helper: runs the built CLI (dist/bin.js) as a subprocess, as a user would.

import { spawn, type ChildProcess } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseSafetensors, toFloat32 } from '@attend/core';

export const BIN = fileURLToPath(new URL('../../dist/bin.js', import.meta.url));

export interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface AttendOptions {
  /** Written to stdin, which is then closed (default: nothing). */
  input?: string;
  /** Added to the environment (e.g. TMPDIR). */
  env?: Record<string, string>;
  cwd?: string;
  /** Sees stdout as it grows, with the child (to signal it at a given moment). */
  onStdout?: (text: string, child: ChildProcess) => void;
}

/** Runs `attend args…` and collects its exit code and output. */
export function attend(args: string[], options: AttendOptions = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
      stdio: ['pipe', 'pipe', 'pipe'],
      ...(options.cwd ? { cwd: options.cwd } : {}),
      ...(options.env ? { env: { ...process.env, ...options.env } } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
      options.onStdout?.(stdout, child);
    });
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** The tensors of a checkpoint's model.safetensors, as float32 arrays by name. */
export async function checkpointWeights(ckpt: string): Promise<Record<string, Float32Array>> {
  const file = parseSafetensors(new Uint8Array(await readFile(join(ckpt, 'model.safetensors'))));
  return Object.fromEntries(Object.entries(file.tensors).map(([name, t]) => [name, toFloat32(t, name)]));
}
