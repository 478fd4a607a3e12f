import { cp, mkdtemp, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import {
  CharTokenizer,
  CheckpointError,
  createModelConfig,
  f32Tensor,
  modelKind,
  parseModelConfig,
  parseSafetensors,
  serializeSafetensors,
  toFloat32,
  tokenizerFromJSON,
  type ConfigOf,
  type TransformerConfig,
} from '@attend/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setupBackend } from './backend.js';
import { createModel, type AttendModel } from './models.js';
import {
  CHECKPOINT_FILES,
  deserializeCheckpoint,
  exportWeights,
  importWeights,
  loadCheckpoint,
  saveCheckpoint,
  serializeCheckpoint,
  type TrainerState,
} from './checkpoint.js';
import { TransformerModel, type TokenBatch } from './model.js';
import { AdamW } from './optimizer.js';

const TINY = { vocabSize: 20, dModel: 16, numHeads: 2, dFf: 32, maxSeqLen: 16, dropout: 0 } as const;

type TransformerPreset = TransformerConfig['preset'];
/** The input of one Transformer preset's config: its own fields only. */
type TransformerInput = { [P in TransformerPreset]: Partial<ConfigOf<P>> & { preset: P; vocabSize: number } }[TransformerPreset];

const CONFIGS: Record<string, TransformerInput> = {
  'encoder-classifier': { ...TINY, preset: 'encoder-classifier', numClasses: 3, numEncoderLayers: 1 },
  'decoder-lm': { ...TINY, preset: 'decoder-lm', numDecoderLayers: 1 },
  'encoder-decoder': { ...TINY, preset: 'encoder-decoder', numEncoderLayers: 1, numDecoderLayers: 1 },
  'encoder-decoder, post-norm, learned positions, untied, general score': {
    ...TINY, preset: 'encoder-decoder', numEncoderLayers: 1, numDecoderLayers: 1,
    norm: 'post', positional: 'learned', tieEmbeddings: false, attention: 'general',
  },
  'decoder-lm, rope, additive score': { ...TINY, preset: 'decoder-lm', numDecoderLayers: 1, positional: 'rope', attention: 'additive' },
  'encoder-classifier, alibi, cls pooling': {
    ...TINY, preset: 'encoder-classifier', numClasses: 2, numEncoderLayers: 1, positional: 'alibi', pooling: 'cls',
  },
};

const SOURCE: TokenBatch = { ids: Int32Array.from([3, 4, 5, 6, 7, 8, 9, 10, 0, 0]), batchSize: 2, seqLen: 5, lengths: Int32Array.from([5, 3]) };
const TARGET: TokenBatch = { ids: Int32Array.from([1, 11, 12, 13, 1, 14, 15, 0]), batchSize: 2, seqLen: 4, lengths: Int32Array.from([4, 3]) };

let root: string;

beforeAll(async () => {
  await setupBackend();
  root = await mkdtemp(join(tmpdir(), 'attend-checkpoint-'));
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

let dirCount = 0;
const freshDir = (): string => join(root, `ckpt-${++dirCount}`);

/** A model whose every weight (norm gains and biases included) is distinct from its initial value. */
function perturbedModel(config: TransformerConfig, seed = 3): TransformerModel {
  const model = new TransformerModel(config, { seed });
  model.namedParams().forEach((p, i) => {
    tf.tidy(() => p.variable.assign(tf.add(p.variable, tf.randomNormal(p.variable.shape, 0, 0.1, 'float32', seed * 1000 + i))));
  });
  return model;
}

function logits(model: AttendModel): Float32Array {
  return tf.tidy(() => model.forward(SOURCE, model.config.preset === 'encoder-decoder' ? TARGET : undefined).logits.dataSync() as Float32Array);
}

function bytes(values: Float32Array): Uint8Array {
  return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
}

function weightBytes(model: AttendModel): Record<string, Uint8Array> {
  return Object.fromEntries(model.namedParams().map((p) => [p.name, bytes(p.variable.dataSync() as Float32Array).slice()]));
}

/** Runs `fn`, expects a CheckpointError, and returns its message after checking it is one line. */
async function checkpointError(fn: () => Promise<unknown>): Promise<string> {
  const error = await fn().then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(CheckpointError);
  const message = (error as Error).message;
  expect(message).not.toContain('\n');
  return message;
}

describe('save → load round trip', () => {
  for (const [label, input] of Object.entries(CONFIGS)) {
    it(`gives bit-identical weights and logits: ${label}`, async () => {
      const config = createModelConfig(input);
      const model = perturbedModel(config);
      const dir = freshDir();
      await saveCheckpoint(dir, { model });
      const before = tf.memory().numTensors;
      const loaded = await loadCheckpoint(dir);
      expect(loaded.config).toEqual(config);
      expect(loaded.model.namedParams().map((p) => p.name)).toEqual(model.namedParams().map((p) => p.name));
      expect(weightBytes(loaded.model)).toEqual(weightBytes(model));
      const original = logits(model);
      expect(bytes(logits(loaded.model))).toEqual(bytes(original));
      // The comparison has teeth: a model that was not loaded computes something else.
      const unloaded = new TransformerModel(config);
      expect(bytes(logits(unloaded))).not.toEqual(bytes(original));
      unloaded.dispose();
      expect(loaded.tokenizer).toBeUndefined();
      expect(loaded.trainerState).toBeUndefined();
      expect(loaded.optimizer).toBeUndefined();
      loaded.model.dispose();
      expect(tf.memory().numTensors).toBe(before);
      model.dispose();
    });
  }

  it('round-trips tokenizer.json: the loaded tokenizer encodes and decodes the same', async () => {
    const tokenizer = CharTokenizer.fromAlphabet('abcdefghijklmnop');
    const model = perturbedModel(createModelConfig({ ...CONFIGS['decoder-lm']!, vocabSize: tokenizer.vocabSize }));
    const dir = freshDir();
    await saveCheckpoint(dir, { model, tokenizer: tokenizer.toJSON() });
    const onDisk = JSON.parse(await readFile(join(dir, CHECKPOINT_FILES.tokenizer), 'utf8')) as unknown;
    expect(onDisk).toEqual(tokenizer.toJSON());
    const loaded = await loadCheckpoint(dir);
    const restored = tokenizerFromJSON(loaded.tokenizer);
    expect(restored.vocabSize).toBe(tokenizer.vocabSize);
    expect(restored.specialTokenIds).toEqual(tokenizer.specialTokenIds);
    for (const text of ['abc', 'ponmlk', 'a z!', '']) {
      expect(restored.encode(text)).toEqual(tokenizer.encode(text));
      expect(restored.encode(text, { addBos: true, addEos: true })).toEqual(tokenizer.encode(text, { addBos: true, addEos: true }));
    }
    const ids = tokenizer.encode('hello');
    expect(restored.decode(ids)).toBe('hello');
    loaded.model.dispose();
    model.dispose();
  });

  it('round-trips trainer state and optimizer moments in memory (serialize/deserialize)', () => {
    const model = perturbedModel(createModelConfig(CONFIGS['decoder-lm']!));
    const params = model.namedParams();
    const optimizer = new AdamW();
    tf.tidy(() => optimizer.apply(params, Object.fromEntries(params.map((p) => [p.variable.name, tf.onesLike(p.variable)])), 1e-3));
    tf.tidy(() => optimizer.apply(params, Object.fromEntries(params.map((p) => [p.variable.name, tf.randomNormal(p.variable.shape, 0, 1, 'float32', 7)])), 1e-3));
    const trainerState: TrainerState = {
      step: 2,
      best: { metric: 'loss', value: 1.5, step: 2 },
      evals: [{ step: 2, metrics: { loss: 1.5 } }],
      losses: [{ step: 1, loss: 2 }, { step: 2, loss: 1.75 }],
      badEvals: 0,
    };
    const files = serializeCheckpoint({ model, trainerState, optimizer });
    expect(Object.keys(files).sort()).toEqual([CHECKPOINT_FILES.config, CHECKPOINT_FILES.metrics, CHECKPOINT_FILES.weights, CHECKPOINT_FILES.optimizer, CHECKPOINT_FILES.trainerState].sort());
    const loaded = deserializeCheckpoint(files);
    expect(loaded.trainerState).toEqual(trainerState);
    expect(weightBytes(loaded.model)).toEqual(weightBytes(model));
    const restored = loaded.optimizer!;
    expect(restored.step).toBe(2);
    expect(Object.keys(restored.m).sort()).toEqual(params.map((p) => p.name).sort());
    for (const p of params) {
      expect(bytes(restored.m[p.name]!)).toEqual(bytes(optimizer.m.get(p.name)!.dataSync() as Float32Array));
      expect(bytes(restored.v[p.name]!)).toEqual(bytes(optimizer.v.get(p.name)!.dataSync() as Float32Array));
    }
    loaded.model.dispose();
    optimizer.dispose();
    model.dispose();
  });
});

describe('model.safetensors layout', () => {
  it("every kind's sizedWeights (checked before a model is built) are weights of its model, in file layout", async () => {
    const fixtures = join(import.meta.dirname, '../../core/src/models/fixtures');
    for (const file of (await readdir(fixtures)).filter((f) => f.endsWith('.json'))) {
      const config = parseModelConfig(await readFile(join(fixtures, file), 'utf8'));
      const model = createModel(config);
      const files = serializeCheckpoint({ model });
      const { tensors } = parseSafetensors(files[CHECKPOINT_FILES.weights]!);
      model.dispose();
      for (const [name, shape] of Object.entries(modelKind(config.preset).sizedWeights(config))) {
        expect(tensors[name]?.shape, `${file}: ${name}`).toEqual(shape);
      }
    }
  });

  it('uses the documented HF-like names with Linear weights as [out, in]', async () => {
    const config = createModelConfig(CONFIGS['decoder-lm']!);
    const model = perturbedModel(config);
    const dir = freshDir();
    await saveCheckpoint(dir, { model });
    const { tensors, metadata } = parseSafetensors(new Uint8Array(await readFile(join(dir, CHECKPOINT_FILES.weights))));
    expect(metadata.format).toBe('pt');
    const shapes = Object.fromEntries(Object.entries(tensors).map(([name, t]) => [name, t.shape]));
    const layer = 'decoder.layers.0';
    const attn = Object.fromEntries(
      ['q', 'k', 'v', 'out'].flatMap((x) => [
        [`${layer}.self_attn.${x}_proj.weight`, [16, 16]],
        [`${layer}.self_attn.${x}_proj.bias`, [16]],
      ]),
    );
    expect(shapes).toEqual({
      'embed_tokens.weight': [20, 16],
      ...attn,
      [`${layer}.self_attn_layer_norm.weight`]: [16],
      [`${layer}.self_attn_layer_norm.bias`]: [16],
      [`${layer}.fc1.weight`]: [32, 16],
      [`${layer}.fc1.bias`]: [32],
      [`${layer}.fc2.weight`]: [16, 32],
      [`${layer}.fc2.bias`]: [16],
      [`${layer}.final_layer_norm.weight`]: [16],
      [`${layer}.final_layer_norm.bias`]: [16],
      'decoder.layer_norm.weight': [16],
      'decoder.layer_norm.bias': [16],
    });
    for (const t of Object.values(tensors)) expect(t.dtype).toBe('F32');
    model.dispose();
  });

  it('stores each Linear weight as the transpose of the tfjs kernel, other weights as they are', () => {
    const model = perturbedModel(createModelConfig(CONFIGS['encoder-decoder, post-norm, learned positions, untied, general score']!));
    const params = model.namedParams();
    const exported = exportWeights(params);
    const linear = params.filter((p) => p.linear).map((p) => p.name);
    expect(linear).toContain('lm_head.weight');
    expect(linear).toContain('decoder.layers.0.encoder_attn.q_proj.weight');
    expect(linear).not.toContain('decoder.layers.0.self_attn.score.weight');
    for (const p of params) {
      const kernel = p.variable.dataSync() as Float32Array;
      const file = toFloat32(exported[p.name]!);
      if (!p.linear) {
        expect(exported[p.name]!.shape, p.name).toEqual(p.variable.shape);
        expect(bytes(file), p.name).toEqual(bytes(kernel));
        continue;
      }
      const [inDim, outDim] = p.variable.shape as [number, number];
      expect(exported[p.name]!.shape, p.name).toEqual([outDim, inDim]);
      for (let o = 0; o < outDim; o++) {
        for (let i = 0; i < inDim; i++) {
          if (file[o * inDim + i] !== kernel[i * outDim + o]) throw new Error(`${p.name}[${o}, ${i}] is not kernel[${i}, ${o}]`);
        }
      }
    }
    // Square projections: a missing transpose would keep the shape, so check the values differ in order.
    const q = params.find((p) => p.name === 'encoder.layers.0.self_attn.q_proj.weight')!;
    expect(bytes(toFloat32(exported[q.name]!))).not.toEqual(bytes(q.variable.dataSync() as Float32Array));
    model.dispose();
  });

  it('names the final norm of a pre-norm encoder encoder.layer_norm, and a post-norm one has none', () => {
    const pre = new TransformerModel(createModelConfig(CONFIGS['encoder-classifier']!));
    const post = new TransformerModel(createModelConfig({ ...CONFIGS['encoder-classifier']!, norm: 'post' }));
    const preNames = Object.keys(exportWeights(pre.namedParams()));
    const postNames = Object.keys(exportWeights(post.namedParams()));
    expect(preNames).toEqual(expect.arrayContaining(['encoder.layer_norm.weight', 'encoder.layer_norm.bias', 'classifier.weight', 'classifier.bias']));
    expect(postNames).not.toContain('encoder.layer_norm.weight');
    expect(preNames.filter((n) => !postNames.includes(n))).toEqual(['encoder.layer_norm.weight', 'encoder.layer_norm.bias']);
    pre.dispose();
    post.dispose();
  });
});

describe('corrupt checkpoints', () => {
  const config = (): TransformerConfig => createModelConfig(CONFIGS['decoder-lm']!);
  let golden: string;
  let goldenWeights: Record<string, Uint8Array>;

  beforeAll(async () => {
    const model = perturbedModel(config());
    golden = freshDir();
    await saveCheckpoint(golden, {
      model,
      tokenizer: CharTokenizer.fromAlphabet('abcdefghijklmnop').toJSON(),
      trainerState: { step: 3, evals: [], losses: [], badEvals: 0 },
    });
    goldenWeights = weightBytes(model);
    model.dispose();
  });

  /** A copy of the good checkpoint, changed by `corrupt`. */
  async function corrupted(corrupt: (dir: string) => Promise<void>): Promise<string> {
    const dir = freshDir();
    await cp(golden, dir, { recursive: true });
    await corrupt(dir);
    return dir;
  }

  async function rewriteWeights(dir: string, edit: (tensors: ReturnType<typeof parseSafetensors>['tensors']) => void): Promise<void> {
    const file = join(dir, CHECKPOINT_FILES.weights);
    const { tensors } = parseSafetensors(new Uint8Array(await readFile(file)));
    edit(tensors);
    await writeFile(file, serializeSafetensors(tensors));
  }

  async function rewriteConfig(dir: string, edit: (config: Record<string, unknown>) => void): Promise<void> {
    const file = join(dir, CHECKPOINT_FILES.config);
    const json = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
    edit(json);
    await writeFile(file, JSON.stringify(json));
  }

  /** Loads `dir` expecting a CheckpointError; checks the files were not touched. */
  async function loadFailure(dir: string): Promise<{ message: string; leakedTensors: number }> {
    const filesBefore = await snapshot(dir);
    const tensorsBefore = tf.memory().numTensors;
    const message = await checkpointError(() => loadCheckpoint(dir));
    const leakedTensors = tf.memory().numTensors - tensorsBefore;
    expect(await snapshot(dir)).toEqual(filesBefore);
    return { message, leakedTensors };
  }

  /** As loadFailure, and the failed load left no tensors behind. */
  async function failedLoad(dir: string): Promise<string> {
    const { message, leakedTensors } = await loadFailure(dir);
    expect(leakedTensors).toBe(0);
    return message;
  }

  it('the untouched copy loads (so each failure below is due to its corruption)', async () => {
    const loaded = await loadCheckpoint(await corrupted(async () => {}));
    expect(weightBytes(loaded.model)).toEqual(goldenWeights);
    expect(loaded.trainerState?.step).toBe(3);
    loaded.model.dispose();
  });

  it('missing config.json', async () => {
    const dir = await corrupted((d) => rm(join(d, 'config.json')));
    expect(await failedLoad(dir)).toMatch(new RegExp(`${escape(join(dir, 'config.json'))}: missing`));
  });

  it('config.json that is not JSON', async () => {
    const dir = await corrupted((d) => writeFile(join(d, 'config.json'), '{"preset": "decoder-lm",'));
    expect(await failedLoad(dir)).toMatch(/config\.json: not valid JSON/);
  });

  it('config.json with a bad field names the field', async () => {
    const dir = await corrupted((d) => rewriteConfig(d, (c) => (c.activation = 'silu')));
    const message = await failedLoad(dir);
    expect(message).toContain('config.json');
    expect(message).toMatch(/activation: "silu" is not allowed; expected one of relu, gelu, gelu_new, swish/);
  });

  it('config.json with an unknown field names the field', async () => {
    const dir = await corrupted((d) => rewriteConfig(d, (c) => (c.dmodel = 16)));
    expect(await failedLoad(dir)).toMatch(/config\.json: dmodel: unknown field for preset 'decoder-lm'; did you mean 'dModel'\?/);
  });

  it('config.json whose model does not match the weights', async () => {
    const dir = await corrupted((d) => rewriteConfig(d, (c) => (c.dFf = 64)));
    expect(await failedLoad(dir)).toMatch(/model\.safetensors: tensor 'decoder\.layers\.0\.fc1\.weight' has shape \[32,16\], but config\.json implies \[64,16\]/);
  });

  // An 80 KB checkpoint claiming a 20 M-token vocabulary (or dFf 3e7) must fail from the weights'
  // shapes alone: building that model first would allocate gigabytes.
  for (const [field, value, tensor] of [['vocabSize', 20_000_000, 'embed_tokens.weight'], ['dFf', 30_000_000, 'decoder.layers.0.fc1.weight']] as const) {
    it(`config.json claiming ${field} ${value} fails before any tensor is allocated`, async () => {
      const dir = await corrupted((d) => rewriteConfig(d, (c) => (c[field] = value)));
      const tensorsBefore = tf.memory().numTensors;
      const bytesBefore = tf.memory().numBytes;
      expect(await failedLoad(dir)).toMatch(new RegExp(`model\\.safetensors: tensor '${escape(tensor)}' has shape \\[\\d+,16\\], but config\\.json implies \\[${value},16\\]`));
      expect(tf.memory().numTensors).toBe(tensorsBefore);
      expect(tf.memory().numBytes).toBe(bytesBefore);
    });
  }

  it('NaN or infinite weights are refused, naming the tensor', async () => {
    for (const bad of [Number.NaN, Number.NEGATIVE_INFINITY]) {
      const dir = await corrupted((d) => rewriteWeights(d, (tensors) => {
        const values = toFloat32(tensors['decoder.layers.0.fc2.bias']!);
        values[3] = bad;
        tensors['decoder.layers.0.fc2.bias'] = f32Tensor([values.length], values);
      }));
      expect(await failedLoad(dir)).toContain(`model.safetensors: tensor 'decoder.layers.0.fc2.bias' holds ${bad} at index 3; weights must be finite`);
    }
  });

  it('missing model.safetensors', async () => {
    const dir = await corrupted((d) => rm(join(d, CHECKPOINT_FILES.weights)));
    expect(await failedLoad(dir)).toMatch(/model\.safetensors: missing/);
  });

  it('truncated model.safetensors', async () => {
    const dir = await corrupted(async (d) => {
      const file = join(d, CHECKPOINT_FILES.weights);
      const data = await readFile(file);
      await writeFile(file, data.subarray(0, data.length - 100));
    });
    expect(await failedLoad(dir)).toContain(join(dir, CHECKPOINT_FILES.weights));
  });

  it('model.safetensors cut inside its header', async () => {
    const dir = await corrupted(async (d) => {
      const file = join(d, CHECKPOINT_FILES.weights);
      await writeFile(file, (await readFile(file)).subarray(0, 40));
    });
    expect(await failedLoad(dir)).toContain(join(dir, CHECKPOINT_FILES.weights));
  });

  it('a tensor missing', async () => {
    const dir = await corrupted((d) => rewriteWeights(d, (t) => delete t['decoder.layers.0.fc2.bias']));
    expect(await failedLoad(dir)).toMatch(/model\.safetensors: missing tensor 'decoder\.layers\.0\.fc2\.bias'/);
  });

  it('a tensor with the wrong shape (a kernel saved as [in, out])', async () => {
    const dir = await corrupted((d) =>
      rewriteWeights(d, (t) => {
        t['decoder.layers.0.fc1.weight'] = f32Tensor([16, 32], new Float32Array(16 * 32));
      }),
    );
    expect(await failedLoad(dir)).toMatch(/model\.safetensors: tensor 'decoder\.layers\.0\.fc1\.weight' has shape \[16,32\], but config\.json implies \[32,16\]/);
  });

  it('an extra tensor', async () => {
    const dir = await corrupted((d) =>
      rewriteWeights(d, (t) => {
        t['lm_head.weight'] = f32Tensor([20, 16], new Float32Array(20 * 16));
      }),
    );
    expect(await failedLoad(dir)).toMatch(/model\.safetensors: unexpected tensor 'lm_head\.weight'/);
  });

  // Files read after the weights: a bad one must still fail the whole load with its name.
  const badSideFiles: Record<string, { corrupt: (dir: string) => Promise<void>; message: RegExp }> = {
    'trainer_state.json with a negative step': {
      corrupt: (d) => writeFile(join(d, CHECKPOINT_FILES.trainerState), JSON.stringify({ step: -1, evals: [], losses: [] })),
      message: /trainer_state\.json: 'step' is -1, expected a non-negative integer/,
    },
    'tokenizer.json that is not JSON': {
      corrupt: (d) => writeFile(join(d, CHECKPOINT_FILES.tokenizer), '{"version": '),
      message: /tokenizer\.json: not valid JSON/,
    },
    'optimizer.safetensors without a step': {
      corrupt: (d) => writeFile(join(d, CHECKPOINT_FILES.optimizer), serializeSafetensors({ 'm.embed_tokens.weight': f32Tensor([1], [0]) })),
      message: /optimizer\.safetensors: metadata 'step' is undefined, expected a non-negative integer/,
    },
  };
  for (const [label, { corrupt, message }] of Object.entries(badSideFiles)) {
    it(label, async () => {
      const { message: got } = await loadFailure(await corrupted(corrupt));
      expect(got).toMatch(message);
    });
  }

  // Known bug: deserializeCheckpoint builds the model and imports the weights before it parses
  // tokenizer.json, trainer_state.json and optimizer.safetensors, and does not dispose the model
  // when one of those throws, so every such failed load leaks all the model's variables.
  // Drop `.fails` once the side files are parsed first (or the model is disposed on error).
  it('a failed load because of a bad side file leaves no tensors behind', async () => {
    for (const { corrupt } of Object.values(badSideFiles)) {
      const { leakedTensors } = await loadFailure(await corrupted(corrupt));
      expect(leakedTensors).toBe(0);
    }
  });

  it('a folder that does not exist', async () => {
    const dir = join(root, 'no-such-checkpoint');
    const message = await checkpointError(() => loadCheckpoint(dir));
    expect(message).toBe(`${dir}: no such checkpoint folder`);
  });

  it('importWeights checks every tensor before writing any', () => {
    const model = perturbedModel(config(), 5);
    const before = weightBytes(model);
    const other = perturbedModel(config(), 6);
    const tensors = exportWeights(other.namedParams());
    other.dispose();
    // The last weight in order is bad: a loader that writes as it goes would have changed all the others.
    const last = model.namedParams().at(-1)!.name;
    tensors[last] = f32Tensor([17], new Float32Array(17));
    expect(() => importWeights(model.namedParams(), tensors)).toThrow(CheckpointError);
    expect(weightBytes(model)).toEqual(before);
    model.dispose();
  });
});

describe('atomic save', () => {
  it('saving over a checkpoint replaces it whole and leaves no .tmp-/.old- siblings', async () => {
    const parent = await mkdtemp(join(root, 'swap-'));
    const dir = join(parent, 'run');
    const first = perturbedModel(createModelConfig(CONFIGS['decoder-lm']!), 1);
    await saveCheckpoint(dir, { model: first, trainerState: { step: 1, evals: [], losses: [], badEvals: 0 }, tokenizer: { stale: true } });
    const second = perturbedModel(createModelConfig({ ...CONFIGS['decoder-lm']!, dFf: 48 }), 2);
    await saveCheckpoint(dir, { model: second });
    expect(await readdir(parent)).toEqual(['run']);
    expect((await readdir(dir)).sort()).toEqual([CHECKPOINT_FILES.config, CHECKPOINT_FILES.weights].sort());
    const loaded = await loadCheckpoint(dir);
    expect(loaded.config).toMatchObject({ preset: 'decoder-lm', dFf: 48 });
    expect(weightBytes(loaded.model)).toEqual(weightBytes(second));
    for (const m of [first, second, loaded.model]) m.dispose();
  });

  it('creates missing parent folders', async () => {
    const dir = join(root, 'deep', 'er', 'run');
    const model = perturbedModel(createModelConfig(CONFIGS['decoder-lm']!));
    await saveCheckpoint(dir, { model });
    expect((await stat(join(dir, CHECKPOINT_FILES.weights))).isFile()).toBe(true);
    model.dispose();
  });

  it('loadCheckpoint recovers a swap interrupted between its two renames', async () => {
    const parent = await mkdtemp(join(root, 'interrupted-'));
    const dir = join(parent, 'run');
    const model = perturbedModel(createModelConfig(CONFIGS['encoder-decoder']!));
    await saveCheckpoint(dir, { model });
    // The crash happened after `run` → `run.old-<pid>-<ms>` and before `run.tmp-xyz` → `run`.
    await rename(dir, `${dir}.old-${process.pid}-1`);
    const loaded = await loadCheckpoint(dir);
    expect(weightBytes(loaded.model)).toEqual(weightBytes(model));
    expect(await readdir(parent)).toEqual(['run']);
    const again = await loadCheckpoint(dir);
    expect(weightBytes(again.model)).toEqual(weightBytes(model));
    for (const m of [model, loaded.model, again.model]) m.dispose();
  });

  it('does not mistake a sibling with a longer name for an interrupted swap', async () => {
    const parent = await mkdtemp(join(root, 'siblings-'));
    const model = perturbedModel(createModelConfig(CONFIGS['decoder-lm']!));
    await saveCheckpoint(join(parent, 'run2'), { model });
    const message = await checkpointError(() => loadCheckpoint(join(parent, 'run')));
    expect(message).toMatch(/no such checkpoint folder/);
    expect((await readdir(parent)).sort()).toEqual(['run2']);
    model.dispose();
  });
});

/** File names and contents of a folder (flat). */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const name of (await readdir(dir)).sort()) out[name] = (await readFile(join(dir, name))).toString('base64');
  return out;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
