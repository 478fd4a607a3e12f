// `attend quickstart` without --out works in a temporary folder under the system's temp
// directory (TMPDIR here, a fresh one per test) and removes it when it ends: done, or
// interrupted with Ctrl-C at a random moment of its first seconds (data generation, training).

import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attend } from './test-utils/attend.js';

/** Runs the CLI with TMPDIR=`tmp`; `onStdout` sees the output so far and may signal the process. */

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'attend-quickstart-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** What quickstart left in the temp directory `tmp` (onnxruntime-node's own empty mat-debug-<pid>.log files aside). */
const leftovers = async (tmp: string) => (await readdir(tmp)).filter((name) => name.startsWith('attend-quickstart-'));

describe('attend quickstart without --out', () => {
  it('removes its temporary folder when done, and says how to keep the files', async () => {
    const tmp = await mkdtemp(join(dir, 'done-'));
    const r = await attend(['quickstart', '--steps', '2'], { env: { TMPDIR: tmp } });
    expect(r.code, r.stderr).toBe(0);
    const folder = /checkpoint: (\S+)\/checkpoint\n/.exec(r.stdout)?.[1];
    expect(folder).toMatch(new RegExp(`^${tmp}/attend-quickstart-`));
    expect(r.stdout).toContain('these files are in a temporary folder, removed now; keep them with:');
    expect(await leftovers(tmp)).toEqual([]);
  });

  it('removes it when interrupted with Ctrl-C at a random moment of its data generation or training, exit 130', async () => {
    const tmp = await mkdtemp(join(dir, 'interrupted-'));
    const delay = Math.floor(Math.random() * 3000);
    let sent = false;
    const r = await attend(['quickstart', '--steps', '100000'], { env: { TMPDIR: tmp }, onStdout: (text, child) => {
      if (!sent && text.startsWith('attend quickstart')) {
        sent = true;
        setTimeout(() => child.kill('SIGINT'), delay);
      }
    } });
    expect(sent).toBe(true);
    expect(r.code, `SIGINT ${delay} ms after the first line\n${r.stderr}`).toBe(130);
    expect(r.stderr).toMatch(new RegExp(`^attend: interrupted; removed ${tmp}/attend-quickstart-\\w+\\n$`));
    expect(await leftovers(tmp)).toEqual([]);
  });
});
