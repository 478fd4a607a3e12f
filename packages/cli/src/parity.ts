// The parity check of an export: the checkpoint's tfjs forward pass and the export folder's
// onnxruntime-node graphs on the same few seeded inputs, compared as the largest absolute
// difference of their logits. What each kind runs is its CliKind's `parity` (models/<kind>.ts):
// the encoder–decoder's decoder over whole target rows, the rnn-seq2seq decoder-step graph over
// the target one token at a time, the LM's cache graph on its first call, the classifier's
// forward graph, the vit-classifier's graph on seeded images of patch tokens + CLS.

import type { Parity } from './models/kind.js';
import { cliKind } from './models/registry.js';

export type { Parity };

/** Compares the checkpoint in `checkpointDir` with its export in `exportDir` on three seeded inputs. */
export async function exportParity(checkpointDir: string, exportDir: string): Promise<Parity> {
  const t = await import('@attend/transformer');
  await t.setupBackend();
  const { model, config } = await t.loadCheckpoint(checkpointDir);
  try {
    return await cliKind(config).parity(t, model, config, exportDir);
  } finally {
    model.dispose();
  }
}
