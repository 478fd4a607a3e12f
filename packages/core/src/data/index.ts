// The data layer: synthetic tasks, parsers, splits, LM windows and batching (browser-safe),
// plus the file readers of files.ts, which load `node:fs/promises` only when called.

export * from './batching.js';
export * from './files.js';
export * from './pairs.js';
export * from './split.js';
export * from './synthetic.js';
export * from './text.js';
export * from './digit-canvases.js';
