import { describe, expect, it } from 'vitest';
import { modelFolderKind } from './model-folder.js';

const folder = (...paths: string[]) => (path: string) => paths.some((p) => p === path || p.startsWith(`${path}/`));

describe('modelFolderKind', () => {
  it('tells an export (onnx/) from a checkpoint (model.safetensors), and neither', async () => {
    expect(await modelFolderKind(folder('config.json', 'tokenizer.json', 'onnx/model.onnx'))).toBe('export');
    expect(await modelFolderKind(folder('config.json', 'tokenizer.json', 'model.safetensors'))).toBe('checkpoint');
    expect(await modelFolderKind(async (path) => path === 'onnx')).toBe('export');
    expect(await modelFolderKind(folder('config.json', 'notes.txt'))).toBeUndefined();
  });
});
