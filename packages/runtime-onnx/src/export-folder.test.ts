// The export-folder loader against folders made by the exporter: every preset opens through the
// node binding (files on disk, onnxruntime-node) and the web binding (files in memory,
// onnxruntime-web) with the same config, tokenizer and outputs; each missing or broken file is
// one error naming it; session options (the CUDA deviceId) reach createSession and ORT.

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CharTokenizer, CheckpointError, configAs, createModelConfig, pickFields, TokenizerError, type ModelConfig, type ModelConfigInput, type Preset } from '@attend/core';
import { createModel, serializeCheckpoint, setupBackend } from '@attend/transformer';
import { classify } from './classify.js';
import { EXPORT_LAYOUTS, openExportFolder, readExportFolder, type CreateSession, type ExportSessions, type ReadFile } from './export-folder.js';
import { exportFolderFiles } from './folder.js';
import { generate } from './generate.js';
import { openExport as openNode } from './node.js';
import { translateRnn } from './models/rnn-seq2seq/session.js';
import { ImageClassifierSession } from './models/vit-classifier/session.js';
import { translate } from './translate.js';
import { asSession, OnnxModel, OnnxModelError, type OrtRuntime, type SessionOptions } from './session.js';
import { openExport as openWeb } from './web.js';
import { failure, perturbed } from './test-utils/models.js';

const PRESETS = ['decoder-lm', 'encoder-classifier', 'encoder-decoder', 'rnn-seq2seq', 'vit-classifier'] as const satisfies readonly Preset[];
const tokenizer = CharTokenizer.fromAlphabet('abcdef');
const checkpoints = {} as Record<Preset, Record<string, Uint8Array>>;
const folders = {} as Record<Preset, Record<string, Uint8Array>>;
let dir: string;

beforeAll(async () => {
  await setupBackend(['cpu']);
  dir = await mkdtemp(join(tmpdir(), 'attend-export-folder-'));
  for (const [i, preset] of PRESETS.entries()) {
    const vit = preset === 'vit-classifier';
    // Sizes for every kind, narrowed to the fields of this one.
    const sizes = { vocabSize: tokenizer.vocabSize, numClasses: 3, dModel: 8, numHeads: 2, numEncoderLayers: 1, numDecoderLayers: 1, dFf: 16, maxSeqLen: 8, dropout: 0 };
    const config = createModelConfig({
      ...pickFields(preset, sizes),
      preset,
      ...(vit ? { imageSize: 4, patchSize: 2, numChannels: 1 } : {}),
      ...(preset === 'rnn-seq2seq' ? { rnnAttention: 'additive' as const } : {}),
    } as ModelConfigInput);
    const model = perturbed(createModel(config, { seed: i }), i);
    checkpoints[preset] = serializeCheckpoint({ model, ...(vit ? {} : { tokenizer: tokenizer.toJSON() }) });
    folders[preset] = exportFolderFiles(checkpoints[preset], { withAttention: true });
    model.dispose();
    for (const [name, bytes] of Object.entries(folders[preset])) {
      await mkdir(dirname(join(dir, preset, name)), { recursive: true });
      await writeFile(join(dir, preset, name), bytes);
    }
  }
}, 60_000);
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const memory =
  (files: Record<string, Uint8Array>): ReadFile =>
  async (name) =>
    files[name];

/** What a preset's sessions give for fixed inputs: tokens, or class probabilities. */
async function outputs(config: ModelConfig, sessions: ExportSessions): Promise<unknown> {
  const source = { ids: Int32Array.of(4, 5, 6, 7), batchSize: 1, seqLen: 4, lengths: Int32Array.of(4) };
  if ('encoder' in sessions) {
    const options = { maxNewTokens: config.maxSeqLen - 1 };
    if (config.preset !== 'rnn-seq2seq') return translate(sessions, source, options);
    return translateRnn(sessions, source, options);
  }
  if (config.preset === 'decoder-lm') return generate(sessions.model, { batchSize: 1, maxNewTokens: config.maxSeqLen - 1 });
  if (config.preset === 'encoder-classifier') return (await classify(sessions.model, source)).map((c) => Array.from(c.probabilities, (p) => p.toFixed(5)));
  const vit = configAs(config, ['vit-classifier'], 'the pixel inputs');
  const pixels = Float32Array.from({ length: vit.numChannels * vit.imageSize ** 2 }, (_, k) => k % 7);
  const { logits } = await asSession(sessions.model, ImageClassifierSession).runImages(pixels, 1);
  return Array.from(logits.data, (x) => x.toFixed(4));
}

describe('openExport: node (disk, onnxruntime-node) and web (memory, onnxruntime-web) bindings', () => {
  it.each(PRESETS)('%s: the same config, tokenizer, sessions, attention flag and outputs', async (preset) => {
    const node = await openNode(join(dir, preset));
    const web = await openWeb(memory(folders[preset]));
    try {
      expect(web.config).toEqual(node.config);
      expect(node.config.preset).toBe(preset);
      expect(node.tokenizer?.vocabSize).toBe(preset === 'vit-classifier' ? undefined : tokenizer.vocabSize);
      expect(web.tokenizer?.encode('abc')).toEqual(node.tokenizer?.encode('abc'));
      expect(Object.keys(node.sessions)).toEqual(Object.keys(EXPORT_LAYOUTS[preset].graphs));
      expect(Object.keys(web.sessions)).toEqual(Object.keys(node.sessions));
      expect([node.device, web.device, node.hasAttention, web.hasAttention]).toEqual(['cpu', 'wasm', true, true]);
      expect(Object.keys(web.graphs)).toEqual(Object.values(EXPORT_LAYOUTS[preset].graphs).map((g) => g.file));
      expect(await outputs(web.config, web.sessions)).toEqual(await outputs(node.config, node.sessions));
    } finally {
      await node.release();
      await web.release();
    }
  });

  it('the node binding runs a web device (wasm) on onnxruntime-web, as the device table says', async () => {
    const opened = await openNode(join(dir, 'decoder-lm'), { device: 'wasm' });
    expect(opened.device).toBe('wasm');
    await opened.release();
  });

  it('notices graphs exported without attention outputs', async () => {
    const files = exportFolderFiles(checkpoints['decoder-lm'], { withAttention: false });
    expect((await readExportFolder(memory(files))).hasAttention).toBe(false);
  });
});

describe('readExportFolder: one error naming the file', () => {
  const text = (s: string): Uint8Array => new TextEncoder().encode(s);
  const without = (preset: Preset, name: string): ReadFile => {
    const { [name]: _, ...rest } = folders[preset];
    return memory(rest);
  };
  const read = (files: ReadFile) => readExportFolder(files, { fileName: (name) => `x/${name}` });

  it.each([
    ['encoder-decoder', 'config.json', CheckpointError, 'x/config.json: missing (every export has one)'],
    ['encoder-decoder', 'tokenizer.json', CheckpointError, 'x/tokenizer.json: missing (the export needs its tokenizer)'],
    ['encoder-decoder', 'tokenizer_config.json', CheckpointError, 'x/tokenizer_config.json: missing (an encoder-decoder export has one)'],
    ['decoder-lm', 'generation_config.json', CheckpointError, 'x/generation_config.json: missing (a decoder-lm export has one)'],
    ['encoder-decoder', 'onnx/decoder_model_merged.onnx', OnnxModelError, 'x/onnx/decoder_model_merged.onnx: missing (an encoder-decoder export needs onnx/encoder_model.onnx and onnx/decoder_model_merged.onnx)'],
    ['rnn-seq2seq', 'onnx/rnn_encoder.onnx', OnnxModelError, 'x/onnx/rnn_encoder.onnx: missing (an rnn-seq2seq export needs onnx/rnn_encoder.onnx and onnx/rnn_decoder_step.onnx)'],
    ['vit-classifier', 'preprocessor_config.json', CheckpointError, 'x/preprocessor_config.json: missing (a vit-classifier export has one)'],
    ['encoder-classifier', 'onnx/model.onnx', OnnxModelError, 'x/onnx/model.onnx: missing (an encoder-classifier export needs onnx/model.onnx)'],
  ] as const)('%s without %s', async (preset, name, type, message) => {
    expect(await failure(read(without(preset, name)), type)).toBe(message);
  });

  it('a bad config.json, a bad tokenizer.json, and graphs that do not match', async () => {
    const lm = folders['decoder-lm'];
    const broken = (files: Record<string, Uint8Array>) => read(memory({ ...lm, ...files }));
    expect(await failure(broken({ 'config.json': text('{"attend": ') }), CheckpointError)).toMatch(/^x\/config\.json: not JSON \(/);
    expect(await failure(broken({ 'config.json': text('{"model_type": "gpt2"}') }), CheckpointError)).toBe("x/config.json: no 'attend' key (not an attend export folder)");
    const config = JSON.parse(new TextDecoder().decode(lm['config.json'])) as { attend: Record<string, unknown> };
    expect(await failure(broken({ 'config.json': text(JSON.stringify({ attend: { ...config.attend, numHeads: 3 } })) }), CheckpointError)).toMatch(/^x\/config\.json 'attend': /);
    expect(await failure(broken({ 'tokenizer.json': text('{oops') }), TokenizerError)).toMatch(/^x\/tokenizer\.json: not valid JSON \(/);
    expect(await failure(broken({ 'tokenizer.json': Uint8Array.of(0x7b, 0xff, 0x7d) }), TokenizerError)).toBe('x/tokenizer.json: not valid UTF-8 text');
    expect(await failure(broken({ 'tokenizer.json': text('[1, 2]') }), TokenizerError)).toMatch(/^x\/tokenizer\.json: expected a JSON object/);
    const wider = CharTokenizer.fromAlphabet('abcdefg').toJSON();
    expect(await failure(broken({ 'tokenizer.json': text(JSON.stringify(wider)) }), CheckpointError)).toMatch(/^x\/tokenizer\.json: 11 tokens but config\.json has vocabSize 10 /);
    expect(await failure(broken({ 'onnx/model.onnx': lm['onnx/model.onnx']!.subarray(0, 200) }), OnnxModelError)).toMatch(/^x\/onnx\/model\.onnx: not an ONNX model \(/);
    const s2s = folders['encoder-decoder'];
    const swapped = { ...s2s, 'onnx/encoder_model.onnx': s2s['onnx/decoder_model_merged.onnx']! };
    expect(await failure(read(memory(swapped)), OnnxModelError)).toBe("x/onnx/encoder_model.onnx: holds a 'seq2seq-decoder' graph, expected 'seq2seq-encoder'");
    const classifierGraph = { ...folders['encoder-classifier'], 'onnx/model.onnx': folders['vit-classifier']['onnx/model.onnx']! };
    expect(await failure(read(memory(classifierGraph)), OnnxModelError)).toBe("x/onnx/model.onnx: its config differs from x/config.json 'attend' (files from different exports?)");
  });

  it("a tokenizer whose special tokens are not the config's, or a tokenizer_config.json that names them otherwise", async () => {
    const lm = folders['decoder-lm'];
    const broken = (files: Record<string, Uint8Array>) => read(memory({ ...lm, ...files }));
    // Same size, bos and eos swapped: encoding works, but every answer would start and stop wrong.
    const swapped = JSON.parse(JSON.stringify(tokenizer.toJSON()).replaceAll('"<s>"', '"<S>"').replaceAll('"</s>"', '"<s>"').replaceAll('"<S>"', '"</s>"')) as object;
    expect(await failure(broken({ 'tokenizer.json': text(JSON.stringify(swapped)) }), CheckpointError)).toBe(
      'x/tokenizer.json: its bos token "<s>" is id 2 but config.json has bosTokenId 1 (files from different exports?)',
    );
    const tokenizerConfig = JSON.parse(new TextDecoder().decode(lm['tokenizer_config.json'])) as Record<string, unknown>;
    expect(await failure(broken({ 'tokenizer_config.json': text(JSON.stringify({ ...tokenizerConfig, bos_token: '</s>' })) }), CheckpointError)).toBe(
      'x/tokenizer_config.json: bos_token is "</s>" but config.json\'s bosTokenId 1 is "<s>" in tokenizer.json',
    );
    expect(await failure(broken({ 'tokenizer_config.json': text(JSON.stringify({ ...tokenizerConfig, pad_token: { content: '<unk>' } })) }), CheckpointError)).toMatch(/^x\/tokenizer_config\.json: pad_token is "<unk>"/);
    expect(await failure(broken({ 'tokenizer_config.json': text('[') }), CheckpointError)).toMatch(/^x\/tokenizer_config\.json: not JSON \(/);
  });

  it('the files only transformers.js reads are checked unless the caller opts out', async () => {
    const lean = without('encoder-decoder', 'tokenizer_config.json');
    expect(await failure(read(lean), CheckpointError)).toBe('x/tokenizer_config.json: missing (an encoder-decoder export has one)');
    expect((await readExportFolder(lean, { transformersJsFiles: false })).config.preset).toBe('encoder-decoder');
  });

  it('accept sees the config first and may refuse the folder before anything else is read', async () => {
    const asked: string[] = [];
    const files: ReadFile = async (name) => {
      asked.push(name);
      return folders['rnn-seq2seq'][name];
    };
    const refuse = (config: ModelConfig, file: string): void => {
      throw new CheckpointError(`${file}: preset '${config.preset}' is not served here`);
    };
    expect(await failure(readExportFolder(files, { accept: refuse }), CheckpointError)).toBe("config.json: preset 'rnn-seq2seq' is not served here");
    expect(asked).toEqual(['config.json']);
  });
});

describe('session options', () => {
  it('reach createSession with each graph named by its file; a failed session releases the ones opened', async () => {
    const seen: SessionOptions[] = [];
    const released: string[] = [];
    const fake: CreateSession = async (_bytes, options) => {
      seen.push(options);
      if (options.source === 'f/onnx/decoder_model_merged.onnx') throw new OnnxModelError(`${options.source}: no GPU`);
      return { device: 'cuda', fallbacks: [], release: async () => void released.push(options.source!) } as unknown as OnnxModel;
    };
    const error = await failure(openExportFolder(memory(folders['encoder-decoder']), fake, { device: 'cuda', deviceId: 1, numThreads: 2, fileName: (name) => `f/${name}` }), OnnxModelError);
    expect(error).toBe('f/onnx/decoder_model_merged.onnx: no GPU');
    expect(seen).toEqual([
      { device: 'cuda', deviceId: 1, numThreads: 2, source: 'f/onnx/encoder_model.onnx' },
      { device: 'cuda', deviceId: 1, numThreads: 2, source: 'f/onnx/decoder_model_merged.onnx' },
    ]);
    expect(released).toEqual(['f/onnx/encoder_model.onnx']);
  });

  it('the CUDA deviceId reaches ORT as a provider option; CUDA falls back to CPU with its reason', async () => {
    const providers: unknown[] = [];
    const ort = {
      InferenceSession: {
        create: async (_bytes: Uint8Array, options: { executionProviders?: unknown[] }) => {
          providers.push(options.executionProviders);
          if (providers.length === 1) throw new Error('libcudart.so.12: cannot open shared object file\nmore');
          return { inputNames: [], outputNames: [] };
        },
      },
      Tensor: class {},
    } as unknown as OrtRuntime;
    const model = await OnnxModel.create(ort, 'node', folders['decoder-lm']['onnx/model.onnx']!, { device: 'cuda', deviceId: 3 });
    expect(providers).toEqual([[{ name: 'cuda', deviceId: 3 }], [{ name: 'cpu' }]]);
    expect([model.device, model.fallbacks]).toEqual(['cpu', [{ device: 'cuda', reason: 'libcudart.so.12: cannot open shared object file' }]]);
  });
});
