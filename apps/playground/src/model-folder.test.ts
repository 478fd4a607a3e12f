import { describe, expect, it } from 'vitest';
import { configAs } from '@attend/core';
import { fetchFolderFiles, folderPaths, FolderError, memoryFolderFiles, readModelFolder, textTokenizer, type PickedFile } from './model-folder.js';
import { picked, tinyExport, tinyVitExport } from './test-utils/fixtures.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const file = (path: string, content = 'x'): PickedFile => ({ path, size: content.length, bytes: async () => bytes(content) });

async function failure(p: Promise<unknown>): Promise<string> {
  const error = await p.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(FolderError);
  return (error as Error).message;
}

describe('folderPaths', () => {
  it('strips the folder a pick or drop puts in front, keeps onnx/ paths', () => {
    const paths = folderPaths([file('my-export/config.json'), file('my-export/onnx/model.onnx'), file('my-export/tokenizer.json'), file('my-export/README.md')]);
    expect([...paths.keys()].sort()).toEqual(['config.json', 'onnx/model.onnx', 'tokenizer.json']);
  });

  it('puts loose .onnx files (a multi-file pick) under onnx/', () => {
    const paths = folderPaths([file('config.json'), file('encoder_model.onnx'), file('decoder_model_merged.onnx')]);
    expect([...paths.keys()].sort()).toEqual(['config.json', 'onnx/decoder_model_merged.onnx', 'onnx/encoder_model.onnx']);
  });

  it('keeps a layout’s optional graphs (a --kv-cache shared folder’s in-place cache graph), picked in a folder or loose', () => {
    const inFolder = folderPaths([file('lm/config.json'), file('lm/onnx/model.onnx'), file('lm/onnx/model_shared_cache.onnx')]);
    expect([...inFolder.keys()].sort()).toEqual(['config.json', 'onnx/model.onnx', 'onnx/model_shared_cache.onnx']);
    const loose = folderPaths([file('config.json'), file('model.onnx'), file('model_shared_cache.onnx')]);
    expect([...loose.keys()].sort()).toEqual(['config.json', 'onnx/model.onnx', 'onnx/model_shared_cache.onnx']);
  });

  it('does not strip a first folder that not every file shares', () => {
    const paths = folderPaths([file('a/config.json'), file('tokenizer.json')]);
    expect([...paths.keys()]).toEqual(['tokenizer.json']);
  });

  it('rejects a selection with no model file, naming what was given', () => {
    expect(() => folderPaths([file('holiday.jpg'), file('notes.txt')])).toThrow(new FolderError('holiday.jpg, notes.txt: not a model folder; expected config.json, tokenizer.json and onnx/*.onnx from an attend export'));
    expect(() => folderPaths([])).toThrow(/^no files selected/);
    const many = Array.from({ length: 5 }, (_, i) => file(`f${i}.bin`));
    expect(() => folderPaths(many)).toThrow(/^f0\.bin, f1\.bin, f2\.bin, … \(5 files\): not a model folder/);
  });
});

describe('readModelFolder', () => {
  it('reads an encoder–decoder export: config, tokenizer, both graphs, attention outputs', async () => {
    const files = await tinyExport('encoder-decoder');
    const folder = await readModelFolder(folderPaths(picked(files, 'exp/')), 'exp/');
    expect(folder.config.preset).toBe('encoder-decoder');
    expect(folder.tokenizer!.vocabSize).toBe(configAs(folder.config, ['encoder-decoder'], 'the vocabulary check').vocabSize);
    expect(Object.keys(folder.graphs).sort()).toEqual(['onnx/decoder_model_merged.onnx', 'onnx/encoder_model.onnx']);
    expect(folder.hasAttention).toBe(true);
  });

  it('reads a decoder-lm export, and notices an export without attention outputs', async () => {
    const files = await tinyExport('decoder-lm', { withAttention: false });
    const folder = await readModelFolder(memoryFolderFiles(files), '');
    expect(Object.keys(folder.graphs)).toEqual(['onnx/model.onnx']);
    expect(folder.hasAttention).toBe(false);
  });

  it('names the missing file', async () => {
    const files = await tinyExport('encoder-decoder');
    const without = (name: string): Map<string, PickedFile> => {
      const m = memoryFolderFiles(files);
      m.delete(name);
      return m;
    };
    await expect(failure(readModelFolder(without('config.json'), 'x/'))).resolves.toBe('x/config.json: missing (every export has one)');
    await expect(failure(readModelFolder(without('tokenizer.json'), 'x/'))).resolves.toBe('x/tokenizer.json: missing (the export needs its tokenizer)');
    await expect(failure(readModelFolder(without('onnx/encoder_model.onnx'), 'x/'))).resolves.toBe(
      'x/onnx/encoder_model.onnx: missing (an encoder-decoder export needs onnx/encoder_model.onnx and onnx/decoder_model_merged.onnx)',
    );
  });

  it('rejects a truncated, a foreign and a swapped graph, each with its file name', async () => {
    const files = await tinyExport('encoder-decoder');
    const enc = files['onnx/encoder_model.onnx']!;
    const dec = files['onnx/decoder_model_merged.onnx']!;
    const withGraphs = (encoder: Uint8Array, decoder: Uint8Array) => memoryFolderFiles({ ...files, 'onnx/encoder_model.onnx': encoder, 'onnx/decoder_model_merged.onnx': decoder });
    await expect(failure(readModelFolder(withGraphs(enc, dec.subarray(0, dec.length >> 1)), ''))).resolves.toMatch(/^onnx\/decoder_model_merged\.onnx: not an ONNX model \(/);
    await expect(failure(readModelFolder(withGraphs(bytes('GIF89a not a model'), dec), ''))).resolves.toMatch(/^onnx\/encoder_model\.onnx: not an ONNX model/);
    await expect(failure(readModelFolder(withGraphs(dec, enc), ''))).resolves.toBe("onnx/encoder_model.onnx: holds a 'seq2seq-decoder' graph, expected 'seq2seq-encoder'");
  });

  it('reads an rnn-seq2seq export (attend-only layout: rnn_encoder.onnx + rnn_decoder_step.onnx); without attention it has no heatmaps', async () => {
    const folder = await readModelFolder(memoryFolderFiles(await tinyExport('rnn-seq2seq')), 'g/');
    expect(folder.config.preset).toBe('rnn-seq2seq');
    expect(Object.keys(folder.graphs).sort()).toEqual(['onnx/rnn_decoder_step.onnx', 'onnx/rnn_encoder.onnx']);
    expect(folder.hasAttention).toBe(true);
    const none = await readModelFolder(memoryFolderFiles(await tinyExport('rnn-seq2seq', { rnnAttention: 'none' })), 'g/');
    expect(none.hasAttention).toBe(false);
    const files = await tinyExport('rnn-seq2seq');
    const swapped = { ...files, 'onnx/rnn_encoder.onnx': files['onnx/rnn_decoder_step.onnx']! };
    await expect(failure(readModelFolder(memoryFolderFiles(swapped), 'g/'))).resolves.toBe("g/onnx/rnn_encoder.onnx: holds a 'rnn-seq2seq-decoder' graph, expected 'rnn-seq2seq-encoder'");
    const { 'onnx/rnn_decoder_step.onnx': _, ...missing } = files;
    await expect(failure(readModelFolder(memoryFolderFiles(missing), 'g/'))).resolves.toBe('g/onnx/rnn_decoder_step.onnx: missing (an rnn-seq2seq export needs onnx/rnn_encoder.onnx and onnx/rnn_decoder_step.onnx)');
  });

  it('reads a vit-classifier export (no tokenizer; preprocessor_config.json and onnx/model.onnx), and names a missing preprocessor file', async () => {
    const files = await tinyVitExport();
    const folder = await readModelFolder(memoryFolderFiles(files), 'v/');
    expect(folder.config.preset).toBe('vit-classifier');
    expect(folder.tokenizer).toBeUndefined();
    expect(Object.keys(folder.graphs)).toEqual(['onnx/model.onnx']);
    expect(folder.hasAttention).toBe(true);
    expect(() => textTokenizer(folder)).toThrow('v/: a vit-classifier takes images, not text');
    expect((await readModelFolder(memoryFolderFiles(await tinyVitExport({ withAttention: false })), 'v/')).hasAttention).toBe(false);
    const { 'preprocessor_config.json': _, ...rest } = files;
    await expect(failure(readModelFolder(memoryFolderFiles(rest), 'v/'))).resolves.toBe('v/preprocessor_config.json: missing (a vit-classifier export has one)');
  });

  it('rejects files from different exports and foreign JSON', async () => {
    const files = await tinyExport('encoder-decoder');
    const lm = await tinyExport('decoder-lm');
    await expect(failure(readModelFolder(memoryFolderFiles({ ...lm, 'config.json': files['config.json']! }), ''))).resolves.toMatch(/^onnx\/encoder_model\.onnx: missing/);
    await expect(failure(readModelFolder(memoryFolderFiles({ ...files, 'config.json': bytes('{"model_type": "bert"}') }), 'f/'))).resolves.toBe("f/config.json: no 'attend' key (not an attend export folder)");
    await expect(failure(readModelFolder(memoryFolderFiles({ ...files, 'tokenizer.json': bytes('{oops') }), 'f/'))).resolves.toMatch(/^f\/tokenizer\.json: not valid JSON \(/);
    const checkpointConfig = new TextEncoder().encode(JSON.stringify(JSON.parse(new TextDecoder().decode(files['config.json'])).attend));
    const checkpoint = { 'config.json': checkpointConfig, 'tokenizer.json': files['tokenizer.json']!, 'model.safetensors': bytes('weights'), 'trainer_state.json': bytes('{}') };
    await expect(failure(readModelFolder(folderPaths(picked(checkpoint, 'run/')), 'run/'))).resolves.toBe(
      'run/config.json: a training checkpoint, not an export; export it first: attend export <checkpoint> --out <folder> --with-attention',
    );
    const config = JSON.parse(new TextDecoder().decode(files['config.json']));
    // A tokenizer with more tokens than the model's vocabulary (a model may have more rows than its tokenizer, not fewer).
    config.attend.vocabSize -= 1;
    await expect(failure(readModelFolder(memoryFolderFiles({ ...files, 'config.json': bytes(JSON.stringify(config)) }), ''))).resolves.toMatch(/^tokenizer\.json: \d+ tokens but config\.json has vocabSize \d+/);
  });
});

describe('fetchFolderFiles', () => {
  it('fetches the files a folder needs as the loader asks for them; a 404 reads as missing, a missing config as an HTTP error', async () => {
    const files = await tinyExport('encoder-decoder');
    const served = { ...files };
    delete served['tokenizer.json'];
    const requested: string[] = [];
    const fetcher = (async (url: string) => {
      requested.push(url);
      const name = url.replace('http://h/demo/', '');
      const body = served[name];
      return body ? new Response(body as Uint8Array<ArrayBuffer>) : new Response('no', { status: 404 });
    }) as typeof fetch;
    const got = await fetchFolderFiles('http://h/demo', fetcher);
    await expect(failure(readModelFolder(got, 'demo/'))).resolves.toBe('demo/tokenizer.json: missing (the export needs its tokenizer)');
    expect(requested).toEqual(['http://h/demo/config.json', 'http://h/demo/tokenizer.json']);
    served['tokenizer.json'] = files['tokenizer.json']!;
    requested.length = 0;
    const folder = await readModelFolder(await fetchFolderFiles('http://h/demo/', fetcher), 'demo/');
    expect(Object.keys(folder.graphs)).toEqual(['onnx/encoder_model.onnx', 'onnx/decoder_model_merged.onnx']);
    expect(requested.map((url) => url.replace('http://h/demo/', ''))).toEqual(['config.json', 'tokenizer.json', 'onnx/encoder_model.onnx', 'onnx/decoder_model_merged.onnx']);
    const nothing = (async () => new Response('no', { status: 404 })) as typeof fetch;
    await expect(failure(fetchFolderFiles('http://h/demo/', nothing))).resolves.toBe("http://h/demo/config.json: HTTP 404 (is the demo model built? run the app's build)");
  });
});
