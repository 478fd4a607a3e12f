// The one answer to "is this model folder a training checkpoint or an export?", for any file
// source (a disk folder, files picked in a page): an export holds its graphs under onnx/ (see
// @attend/runtime-onnx's folder.ts), a checkpoint holds model.safetensors (see
// @attend/transformer's checkpoint.ts). An export is recognised first: it never has weights.

export type ModelFolderKind = 'checkpoint' | 'export';

/**
 * Which kind of model folder `exists` describes; undefined when it is neither. `exists(path)`
 * says whether a file or folder is at `path`, relative to the folder ('onnx', 'model.safetensors').
 */
export async function modelFolderKind(exists: (path: string) => boolean | Promise<boolean>): Promise<ModelFolderKind | undefined> {
  if (await exists('onnx')) return 'export';
  if (await exists('model.safetensors')) return 'checkpoint';
  return undefined;
}
