export * from './onnx/proto.js';
export * from './onnx/graph.js';
export * from './weights.js';
export * from './export.js';
export * from './devices.js';
export * from './session.js';
export * from './generate.js';
export * from './folder.js';
