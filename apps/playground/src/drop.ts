// Files from the page's inputs and drops, as PickedFiles with their relative paths: a folder
// pick gives webkitRelativePath, a dropped folder is walked through its FileSystemEntry tree.

import type { PickedFile } from './model-folder.js';

export function pickedFromFile(file: File, path = file.webkitRelativePath || file.name): PickedFile {
  return { path, size: file.size, bytes: async () => new Uint8Array(await file.arrayBuffer()) };
}

export function pickedFromInput(list: FileList | null): PickedFile[] {
  return list ? Array.from(list, (f) => pickedFromFile(f)) : [];
}

/** Every file of a drop, folders walked recursively (paths relative to the drop). */
export async function pickedFromDrop(transfer: DataTransfer): Promise<PickedFile[]> {
  const entries = Array.from(transfer.items, (item) => item.webkitGetAsEntry?.() ?? null);
  if (entries.some((e) => e === null)) return Array.from(transfer.files, (f) => pickedFromFile(f));
  const out: PickedFile[] = [];
  const walk = async (entry: FileSystemEntry, prefix: string): Promise<void> => {
    const path = `${prefix}${entry.name}`;
    if (entry.isFile) {
      const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
      out.push(pickedFromFile(file, path));
    } else if (entry.isDirectory) {
      const reader = (entry as FileSystemDirectoryEntry).createReader();
      for (;;) {
        const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
        if (batch.length === 0) break;
        for (const child of batch) await walk(child, `${path}/`);
      }
    }
  };
  for (const entry of entries) await walk(entry!, '');
  return out;
}
