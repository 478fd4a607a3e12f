// `npm run quickstart` builds only what `attend quickstart` runs: the CLI and the packages it
// depends on, not the playground (whose build trains its own demo model) or the e2e package.
// The build step of the root package.json's script is run by turbo as a dry run.

import { spawnSync } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('npm run quickstart', () => {
  it('builds the cli and its dependencies only', async () => {
    const scripts = (JSON.parse(await readFile(`${ROOT}/package.json`, 'utf8')) as { scripts: Record<string, string> }).scripts;
    const steps = scripts.quickstart!.split(' && ');
    expect(steps.at(-1)).toBe('node packages/cli/dist/bin.js quickstart');
    const build = steps.find((step) => step.includes('turbo run build'));
    expect(build, scripts.quickstart).toBeDefined();
    const r = spawnSync('sh', ['-c', `${build} --dry=json`], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' } });
    expect(r.status, r.stderr).toBe(0);
    const tasks = (JSON.parse(r.stdout) as { tasks: { taskId: string }[] }).tasks.map((t) => t.taskId).sort();
    expect(tasks).toEqual(['@attend/cli#build', '@attend/core#build', '@attend/runtime-onnx#build', '@attend/transformer#build']);
  });
});
