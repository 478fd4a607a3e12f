// Conv2DBackpropFilter for the wasm backend, which does not ship it (the gradient of a 2-D
// convolution's filter; without it no convolution trains on wasm). The backend does ship the
// 3-D kernel, Conv3DBackpropFilterV2, and a 2-D convolution is a 3-D one of depth 1: x
// [B, H, W, C] (NHWC) has the memory layout of [B, 1, H, W, C] (NDHWC), and the filter
// [k, k, C, D] that of [1, k, k, C, D]. So this kernel hands the same buffers to the 3-D kernel
// under those shapes — no copy — and gives back its result under the 2-D filter shape.
// Stride 1 only: tfjs-backend-wasm 4.22's Conv3DBackpropFilterV2 is wrong for strides above 1
// (checked against the cpu backend: some filter rows differ at height/width stride 2, and it
// returns zeros at depth stride 2), so a strided convolution is refused in one line rather than
// given a wrong gradient. attend's convolutions use stride 1 and pool.

import { Conv2DBackpropFilter, Conv3DBackpropFilterV2, getKernel, type Conv2DBackpropFilterAttrs, type KernelConfig, type KernelFunc, type NamedAttrMap, type TensorInfo } from '@tensorflow/tfjs-core';

const kernelFunc = (({ inputs, backend, attrs }) => {
  const { x, dy } = inputs as { x: TensorInfo; dy: TensorInfo };
  const { strides, pad, dataFormat, filterShape } = attrs as unknown as Conv2DBackpropFilterAttrs;
  if (dataFormat !== 'NHWC') throw new Error(`Conv2DBackpropFilter (wasm): data format ${dataFormat} is not supported, only NHWC`);
  // A numeric or explicit padding would pad the added depth axis too; 'same' and 'valid' leave a depth of 1 alone.
  if (pad !== 'same' && pad !== 'valid') throw new Error(`Conv2DBackpropFilter (wasm): padding ${JSON.stringify(pad)} is not supported, only 'same' and 'valid'`);
  const conv3d = getKernel(Conv3DBackpropFilterV2, 'wasm');
  if (!conv3d) throw new Error('Conv2DBackpropFilter (wasm): the backend has no Conv3DBackpropFilterV2 kernel');
  const [sh, sw] = typeof strides === 'number' ? [strides, strides] : strides;
  if (sh !== 1 || sw !== 1) throw new Error(`Conv2DBackpropFilter (wasm): stride ${sh}×${sw} is not supported, only 1 (the backend's 3-D kernel is wrong for larger strides)`);
  const asDepthOne = (t: TensorInfo): TensorInfo => ({ dataId: t.dataId, dtype: t.dtype, shape: [t.shape[0]!, 1, ...t.shape.slice(1)] });
  const dw = conv3d.kernelFunc({
    inputs: { x: asDepthOne(x), dy: asDepthOne(dy) },
    backend,
    attrs: { strides: [1, sh, sw], pad, filterShape: [1, ...filterShape] } as unknown as NamedAttrMap,
  }) as TensorInfo;
  return { dataId: dw.dataId, dtype: dw.dtype, shape: [...filterShape] };
}) as KernelFunc;

export const conv2dBackpropFilterWasmConfig: KernelConfig = { kernelName: Conv2DBackpropFilter, backendName: 'wasm', kernelFunc };
