// UnsortedSegmentSum for the wasm backend, which does not ship it. tfjs needs it for the
// gradient of Gather — i.e. of every embedding lookup — so without it no model trains on wasm.
// out[s, ...] = Σ_{i : segmentIds[i] = s} x[i, ...]; ids outside [0, numSegments) are dropped,
// as in TensorFlow. Runs on the wasm heap directly: no copy to another backend.

import { UnsortedSegmentSum, type KernelConfig, type KernelFunc, type TensorInfo, type UnsortedSegmentSumAttrs } from '@tensorflow/tfjs-core';

interface WasmBackendLike {
  readSync(dataId: object): ArrayLike<number>;
  makeOutput(shape: number[], dtype: string): TensorInfo;
  typedArrayFromHeap(info: TensorInfo): Float32Array | Int32Array | Uint8Array;
}

export function unsortedSegmentSum(x: ArrayLike<number>, segmentIds: ArrayLike<number>, rowSize: number, out: Float32Array | Int32Array): void {
  out.fill(0);
  const numSegments = out.length / rowSize;
  for (let i = 0; i < segmentIds.length; i++) {
    const s = segmentIds[i]!;
    if (s < 0 || s >= numSegments) continue;
    const src = i * rowSize;
    const dst = s * rowSize;
    for (let k = 0; k < rowSize; k++) out[dst + k]! += x[src + k]!;
  }
}

const kernelFunc = (({ inputs, backend, attrs }) => {
  const { x, segmentIds } = inputs as { x: TensorInfo; segmentIds: TensorInfo };
  const { numSegments } = attrs as unknown as UnsortedSegmentSumAttrs;
  const wasm = backend as unknown as WasmBackendLike;
  // segmentIds may have rank > 1: it indexes the leading segmentIds.shape dims of x.
  const idsSize = segmentIds.shape.reduce((a, b) => a * b, 1);
  const xSize = x.shape.reduce((a, b) => a * b, 1);
  const rowSize = idsSize === 0 ? 0 : xSize / idsSize;
  const outShape = [numSegments, ...x.shape.slice(segmentIds.shape.length)];
  const out = wasm.makeOutput(outShape, x.dtype);
  const outValues = wasm.typedArrayFromHeap(out);
  if (!(outValues instanceof Float32Array || outValues instanceof Int32Array)) {
    throw new Error(`UnsortedSegmentSum (wasm): unsupported dtype ${x.dtype}`);
  }
  unsortedSegmentSum(wasm.readSync(x.dataId), wasm.readSync(segmentIds.dataId), rowSize, outValues);
  return out;
}) as KernelFunc;

export const unsortedSegmentSumWasmConfig: KernelConfig = { kernelName: UnsortedSegmentSum, backendName: 'wasm', kernelFunc };
