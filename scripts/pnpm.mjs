#!/usr/bin/env node
// Runs the pinned pnpm without corepack (whose signature check fails on some machines):
// npx fetches pnpm from the npm registry once and caches it. Dependency build scripts stay
// off (pnpm 10's default), and onnxruntime-node is told not to download CUDA binaries.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const pinned = String(manifest.packageManager ?? '').replace(/^pnpm@/, '');
if (!/^\d+\.\d+\.\d+$/.test(pinned)) {
  console.error(`package.json: packageManager must pin pnpm as "pnpm@X.Y.Z", got "${manifest.packageManager}"`);
  process.exit(2);
}
const env = { ...process.env, ONNXRUNTIME_NODE_INSTALL: process.env.ONNXRUNTIME_NODE_INSTALL ?? 'skip', COREPACK_ENABLE_STRICT: '0' };
const result = spawnSync('npx', ['-y', `pnpm@${pinned}`, ...process.argv.slice(2)], { stdio: 'inherit', env, shell: process.platform === 'win32' });
if (result.error) {
  console.error(`could not start pnpm@${pinned} through npx: ${result.error.message}`);
  process.exit(1);
}
process.exit(result.status ?? 1);
