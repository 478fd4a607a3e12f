// `attend pull ORG/NAME --out DIR`: a model folder from the Hugging Face Hub (see hub-pull.ts),
// ready for `attend import`. --out must be new or empty, or an earlier pull replaced with
// --overwrite; an interrupted pull continues when run again.

import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import cliProgress from 'cli-progress';
import { recoverFolder } from '@attend/core/node';
import { CliError } from '../errors.js';
import { PULL_MANIFEST, pullModel, type PullProgress } from '../hub-pull.js';
import { formatBytes } from '../options.js';
import { foreignEntries, outFolderState, type OutputKind } from '../out-folder.js';

export interface PullCommandOptions {
  out: string;
  revision?: string;
  hubUrl?: string;
  token?: string;
  allFiles?: boolean;
  overwrite?: boolean;
}

/** An earlier pull: its manifest, and only the files it lists beside it. */
const PULL_FOLDER: OutputKind = {
  name: 'an earlier pull',
  marks: (entries) => entries.includes(PULL_MANIFEST),
  foreign: async (dir, entries) => {
    const listed = await readFile(join(dir, PULL_MANIFEST), 'utf8').then(
      (text) => (JSON.parse(text) as { files?: Array<{ path: string }> }).files?.map((f) => f.path) ?? [],
      () => [] as string[],
    );
    const top = new Set(listed.map((p) => p.split('/')[0]!));
    const inFolder = (folder: string) => (name: string) => listed.some((p) => p === `${folder}/${name}` || p.startsWith(`${folder}/${name}/`));
    return foreignEntries(dir, entries, [PULL_MANIFEST, ...listed], Object.fromEntries([...top].filter((t) => !listed.includes(t)).map((t) => [t, inFolder(t)])));
  },
};

export async function pullCommand(repo: string, o: PullCommandOptions): Promise<void> {
  await recoverFolder(o.out);
  // Before downloading, and again before the download takes --out's place.
  const checkOut = async (): Promise<void> => {
    if ((await outFolderState(o.out, PULL_FOLDER)) === 'earlier-output' && !o.overwrite) {
      throw new CliError(`--out ${o.out}: already holds a pulled model; give --overwrite to replace it`, 2);
    }
  };
  await checkOut();
  const view = progress();
  try {
    const manifest = await pullModel({
      repo,
      out: o.out,
      revision: o.revision,
      hubUrl: o.hubUrl,
      token: o.token ?? process.env.HF_TOKEN,
      allFiles: o.allFiles,
      discardOtherPartial: o.overwrite,
      checkOut,
      onProgress: view.event,
    });
    view.stop();
    const bytes = manifest.files.reduce((n, f) => n + f.size, 0);
    console.log(`pulled ${manifest.repo}@${manifest.revision} into ${o.out}: ${manifest.files.length} files, ${formatBytes(bytes)}, checksums verified`);
    console.log(`next: attend import ${o.out} --out <checkpoint>`);
  } finally {
    view.stop();
  }
}

/** A byte progress bar on stderr when it is a terminal; a line per file otherwise. */
function progress(): { event: (e: PullProgress) => void; stop: () => void } {
  if (!process.stderr.isTTY) {
    return {
      event: (e) => {
        if (e.type === 'file') console.log(`  ${e.path.padEnd(32)} ${formatBytes(e.size)}${e.resumedFrom > 0 ? ` (continued from ${formatBytes(e.resumedFrom)})` : ''}`);
      },
      stop: () => {},
    };
  }
  let bar: cliProgress.SingleBar | undefined;
  let before = 0;
  let current = '';
  return {
    event: (e) => {
      if (e.type === 'start') {
        bar = new cliProgress.SingleBar({ format: ' {bar} {percentage}% | {done} of {all} | {file}', hideCursor: true, stream: process.stderr }, cliProgress.Presets.shades_classic);
        bar.start(e.bytes, e.resumedBytes, { done: formatBytes(e.resumedBytes), all: formatBytes(e.bytes), file: '' });
        before = 0;
      } else if (e.type === 'bytes') {
        current = e.path;
        bar?.update(before + e.done, { done: formatBytes(before + e.done), file: current });
      } else {
        before += e.size;
        bar?.update(before, { done: formatBytes(before), file: e.path });
      }
    },
    stop: () => {
      bar?.stop();
      bar = undefined;
    },
  };
}
