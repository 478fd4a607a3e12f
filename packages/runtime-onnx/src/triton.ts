// A Triton Inference Server model repository for an export folder, so that a model that
// outgrows `attend serve` runs on an existing distributed serving engine. Triton's layout:
//
//   <repository>/<model>/config.pbtxt       ModelConfig in protobuf text format
//   <repository>/<model>/1/model.onnx       version 1 of the model
//
// config.pbtxt follows Triton's model-configuration documentation: platform
// "onnxruntime_onnx", every input and output with its name, data_type (TYPE_INT64, TYPE_FP32,
// TYPE_BOOL) and dims, where -1 marks a dynamic axis. When every input and output of a graph
// starts with the same dynamic batch axis, max_batch_size > 0, the batch axis is left out of
// dims (Triton adds it), and dynamic_batching is on; otherwise (the merged seq2seq decoder,
// whose use_cache_branch is [1]) max_batch_size is 0 and dims are the full shapes.
// A decoder-lm gives one model; an encoder–decoder gives `<name>-encoder` and `<name>-decoder`.
// The folder's config.json and tokenizer.json are copied beside config.pbtxt for clients.

import { AttendError } from '@attend/core';
import { EXPORT_FILES } from './folder.js';
import { SEQ2SEQ_FILES } from './models/encoder-decoder/export.js';
import { RNN_SEQ2SEQ_FILES } from './models/rnn-seq2seq/export.js';
import { DataType, readGraphSignature, type ValueInfoProto } from './onnx/proto.js';

export class TritonExportError extends AttendError {
  override readonly name = 'TritonExportError';
}

export interface TritonOptions {
  /** Model name (the directory under the repository); letters, digits, '_' and '-'. */
  name: string;
  /** Largest batch Triton's dynamic batcher forms; default 32. */
  maxBatchSize?: number;
  /** How long a request may wait for others to join its batch, µs; default 1000. */
  maxQueueDelayMicroseconds?: number;
}

const TRITON_TYPES: Record<number, string> = {
  [DataType.FLOAT]: 'TYPE_FP32',
  [DataType.INT32]: 'TYPE_INT32',
  [DataType.INT64]: 'TYPE_INT64',
  [DataType.BOOL]: 'TYPE_BOOL',
};

/** The config.pbtxt of one ONNX graph (`source` names it in errors). */
export function tritonConfig(onnx: Uint8Array, name: string, options: Omit<TritonOptions, 'name'> = {}, source = 'model.onnx'): string {
  const { inputs, outputs } = readGraphSignature(onnx);
  if (inputs.length === 0 || outputs.length === 0) throw new TritonExportError(`${source}: the graph declares no inputs or no outputs`);
  const all = [...inputs, ...outputs];
  const batchAxis = all[0]!.dims[0];
  const batched = typeof batchAxis === 'string' && all.every((v) => v.dims.length > 0 && v.dims[0] === batchAxis);
  const maxBatch = batched ? (options.maxBatchSize ?? 32) : 0;
  if (!Number.isInteger(maxBatch) || maxBatch < 0) throw new TritonExportError(`maxBatchSize: ${options.maxBatchSize} is not allowed; expected an integer >= 1`);
  const tensor = (v: ValueInfoProto): string => {
    const type = TRITON_TYPES[v.elemType];
    if (!type) throw new TritonExportError(`${source}: '${v.name}' has ONNX element type ${v.elemType}, which has no Triton data type here`);
    const dims = (batched ? v.dims.slice(1) : v.dims).map((d) => (typeof d === 'number' ? d : -1));
    return `  {\n    name: "${v.name}"\n    data_type: ${type}\n    dims: [ ${dims.join(', ')} ]\n  }`;
  };
  const lines = [
    `name: "${name}"`,
    'platform: "onnxruntime_onnx"',
    `max_batch_size: ${maxBatch}`,
    `input [\n${inputs.map(tensor).join(',\n')}\n]`,
    `output [\n${outputs.map(tensor).join(',\n')}\n]`,
  ];
  if (batched) lines.push(`dynamic_batching {\n  max_queue_delay_microseconds: ${options.maxQueueDelayMicroseconds ?? 1000}\n}`);
  return `${lines.join('\n')}\n`;
}

/**
 * The files of a Triton model repository (paths relative to the repository) from the files of
 * an export folder (paths as in EXPORT_FILES / SEQ2SEQ_FILES / RNN_SEQ2SEQ_FILES): one model
 * for a one-graph folder, `<name>-encoder` and `<name>-decoder` for the encoder–decoders (the
 * client drives the decoder's cache or recurrent state).
 */
export function tritonRepositoryFiles(folder: Record<string, Uint8Array>, options: TritonOptions): Record<string, Uint8Array> {
  if (!/^[A-Za-z0-9_-]+$/.test(options.name)) throw new TritonExportError(`name: "${options.name}" is not allowed; use letters, digits, '_' and '-'`);
  const pair = [SEQ2SEQ_FILES, RNN_SEQ2SEQ_FILES].find((files) => folder[files.encoder] && folder[files.decoder]);
  const graphs: [string, string][] = folder[EXPORT_FILES.model]
    ? [[options.name, EXPORT_FILES.model]]
    : pair
      ? [
          [`${options.name}-encoder`, pair.encoder],
          [`${options.name}-decoder`, pair.decoder],
        ]
      : [];
  if (graphs.length === 0) {
    throw new TritonExportError(`the export folder has neither ${EXPORT_FILES.model} nor ${SEQ2SEQ_FILES.encoder} + ${SEQ2SEQ_FILES.decoder} (or ${RNN_SEQ2SEQ_FILES.encoder} + ${RNN_SEQ2SEQ_FILES.decoder})`);
  }
  const text = new TextEncoder();
  const files: Record<string, Uint8Array> = {};
  for (const [model, path] of graphs) {
    const onnx = folder[path]!;
    files[`${model}/config.pbtxt`] = text.encode(tritonConfig(onnx, model, options, path));
    files[`${model}/1/model.onnx`] = onnx;
    for (const extra of [EXPORT_FILES.config, EXPORT_FILES.tokenizer, EXPORT_FILES.preprocessorConfig]) if (folder[extra]) files[`${model}/${extra}`] = folder[extra];
  }
  return files;
}
