// Kernels the tfjs wasm backend lacks, registered once when the wasm backend is selected.

import { getKernel, registerKernel, type KernelConfig } from '@tensorflow/tfjs-core';
import { conv2dBackpropFilterWasmConfig } from './conv2d-backprop-filter.js';
import { unsortedSegmentSumWasmConfig } from './unsorted-segment-sum.js';

const MISSING_IN_WASM: readonly KernelConfig[] = [unsortedSegmentSumWasmConfig, conv2dBackpropFilterWasmConfig];

export function registerMissingWasmKernels(): void {
  for (const config of MISSING_IN_WASM) {
    if (!getKernel(config.kernelName, config.backendName)) registerKernel(config);
  }
}
