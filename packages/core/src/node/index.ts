// @attend/core for Node: the parts that touch the file system. Kept out of the main entry so
// browser code that imports @attend/core never pulls in node:fs.

export * from './atomic-folder.js';
export * from './checkpoint-folder.js';
export * from './hf-folder.js';
