// @attend/runtime-onnx for browsers (and Node, for tests): onnxruntime-web, devices 'wasm'
// and 'webgpu'.

import * as ort from 'onnxruntime-web';
import { OnnxModel, type SessionOptions } from './session.js';

export * from './index.js';

/**
 * Loads ONNX bytes into an onnxruntime-web session (default device 'wasm'). `numThreads`
 * sets onnxruntime-web's process-wide WASM thread count, which takes effect before its first session.
 */
export function createOnnxModel(bytes: Uint8Array, options: SessionOptions = {}): Promise<OnnxModel> {
  if (options.numThreads) ort.env.wasm.numThreads = options.numThreads;
  return OnnxModel.create(ort, 'web', bytes, options);
}
