// The Hugging Face importers on small models built here: GPT-2's fused c_attn split into q, k, v
// and its Conv1D weights transposed, BERT's token-type row folded into the positions, base-model
// prefixes and old LayerNorm names, and one-line errors for what attend does not import.
// The folder reader: model.safetensors or a sharded index, and its guards. (Logits against
// PyTorch: e2e/src/hf-import.test.ts.)

import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkpointFiles } from '../checkpoint-format.js';
import { importHf } from '../node/hf-folder.js';
import { createRng } from '../random.js';
import { f32Tensor, serializeSafetensors, toFloat32, type NamedTensor } from '../safetensors.js';
import { importHfModel, type HfModel } from './index.js';
import { bert, d, ff, gpt2, P, tensors, V } from '../test-utils/hf-models.js';

const values = (t: NamedTensor | undefined): Float32Array => toFloat32(t!);

describe('gpt2 → decoder-lm', () => {
  it('splits the fused c_attn [in, 3·out] into q, k, v [out, in] and transposes every Conv1D', () => {
    const model = gpt2();
    const { data } = importHfModel(model);
    const fused = values(model.weights['h.1.attn.c_attn.weight']);
    const fusedBias = values(model.weights['h.1.attn.c_attn.bias']);
    ['q_proj', 'k_proj', 'v_proj'].forEach((proj, j) => {
      const w = values(data.weights[`decoder.layers.1.self_attn.${proj}.weight`]);
      for (let o = 0; o < d; o++) for (let i = 0; i < d; i++) expect(w[o * d + i]).toBe(fused[i * 3 * d + j * d + o]);
      expect([...values(data.weights[`decoder.layers.1.self_attn.${proj}.bias`])]).toEqual([...fusedBias.subarray(j * d, (j + 1) * d)]);
    });
    const cFc = values(model.weights['h.0.mlp.c_fc.weight']);
    const fc1 = data.weights['decoder.layers.0.fc1.weight']!;
    expect(fc1.shape).toEqual([ff, d]);
    expect(values(fc1)[3 * d + 5]).toBe(cFc[5 * ff + 3]);
    expect(data.config).toMatchObject({ preset: 'decoder-lm', dModel: d, dFf: ff, activation: 'gelu_new', norm: 'pre', positional: 'learned', scaleEmbedding: false, tieEmbeddings: true, eosTokenId: V - 1, padTokenId: V - 1, layerNormEps: 1e-5 });
  });

  it('reads keys with or without the transformer. prefix alike, and skips the attn.bias buffers and a repeated tied head', () => {
    const bare = importHfModel(gpt2()).data.weights;
    const prefixed = gpt2('transformer.');
    prefixed.weights['h.0.attn.bias'] = f32Tensor([1, 1, P, P], new Float32Array(P * P));
    prefixed.weights['lm_head.weight'] = prefixed.weights['transformer.wte.weight']!;
    const imported = importHfModel(prefixed).data.weights;
    expect(Object.keys(imported).sort()).toEqual(Object.keys(bare).sort());
    for (const name of Object.keys(bare)) expect([...values(imported[name])], name).toEqual([...values(bare[name])]);
  });

  it('n_inner null means 4·n_embd; an untied head is imported as lm_head', () => {
    const model = gpt2('', { tie_word_embeddings: false });
    model.weights['lm_head.weight'] = f32Tensor([V, d], new Float32Array(V * d).fill(0.5));
    expect(importHfModel(model).data.weights['lm_head.weight']!.shape).toEqual([V, d]);
    expect(() => importHfModel(gpt2('', { n_inner: null }))).toThrow("hf/gpt2: weights: tensor 'h.0.mlp.c_fc.weight' has shape [8,12], but config.json implies [8,32]");
  });

  it.each([
    [{ model_type: 'llama' }, 'hf/gpt2/config.json: model_type: "llama" is not supported; attend imports gpt2, bert'],
    [{ architectures: ['GPT2ForTokenClassification'] }, 'hf/gpt2/config.json: architectures: ["GPT2ForTokenClassification"] is not supported for gpt2; attend imports GPT2LMHeadModel, GPT2Model'],
    [{ activation_function: 'quick_gelu' }, 'hf/gpt2/config.json: activation_function: "quick_gelu" is not supported; attend imports gelu, gelu_new, gelu_pytorch_tanh, relu, swish, silu'],
    [{ scale_attn_by_inverse_layer_idx: true }, 'hf/gpt2/config.json: scale_attn_by_inverse_layer_idx: true is not supported'],
    [{ add_cross_attention: true }, 'hf/gpt2/config.json: add_cross_attention: true is not supported'],
    [{ n_embd: '8' }, 'hf/gpt2/config.json: n_embd: "8" is not allowed; expected an integer >= 1'],
    [{ eos_token_id: undefined, bos_token_id: undefined }, 'hf/gpt2/config.json: eos_token_id: missing, and tokenizer_config.json names no eos_token'],
  ])('config %j is one line naming the field', (config, message) => {
    expect(() => importHfModel(gpt2('', config))).toThrow(message);
  });

  it('a tensor the architecture does not have, or one missing, is named', () => {
    const extra = gpt2();
    extra.weights['h.0.attn.rotary.inv_freq'] = f32Tensor([2], [1, 2]);
    expect(() => importHfModel(extra)).toThrow("hf/gpt2: weights: unexpected tensor 'h.0.attn.rotary.inv_freq'; the architecture has weights attend does not import");
    const missing = gpt2();
    delete missing.weights['h.1.ln_2.bias'];
    expect(() => importHfModel(missing)).toThrow("hf/gpt2: weights: missing tensor 'h.1.ln_2.bias' (shape [8])");
    const twice = gpt2();
    twice.weights['transformer.wte.weight'] = twice.weights['wte.weight']!;
    expect(() => importHfModel(twice)).toThrow("tensors 'wte.weight' and 'transformer.wte.weight' are the same weight 'wte.weight'");
  });
});

describe('bert → encoder-classifier', () => {
  it('keeps the token-type table and the positions as they are, the pooler and classifier, and post-norm with eps 1e-12', () => {
    const model = bert();
    const { data, notes } = importHfModel(model);
    expect([...values(data.weights['encoder.embed_positions.weight'])]).toEqual([...values(model.weights['bert.embeddings.position_embeddings.weight'])]);
    expect([...values(data.weights['embed_token_types.weight'])]).toEqual([...values(model.weights['bert.embeddings.token_type_embeddings.weight'])]);
    expect(data.config).toMatchObject({ typeVocabSize: 2 });
    expect(data.config).toMatchObject({ preset: 'encoder-classifier', numClasses: 3, norm: 'post', embeddingNorm: true, pooler: true, pooling: 'cls', layerNormEps: 1e-12, activation: 'gelu', bosTokenId: 2, eosTokenId: 3, padTokenId: 0 });
    expect([...values(data.weights['pooler.weight'])]).toEqual([...values(model.weights['bert.pooler.dense.weight'])]);
    expect(notes).toContain('labels: neg, neu, pos (ids 0..2)');
  });

  it('reads old gamma/beta names and keys without the bert. prefix alike', () => {
    const base = importHfModel(bert()).data.weights;
    const old = importHfModel(bert('', { oldNames: true })).data.weights;
    for (const name of Object.keys(base)) expect([...values(old[name])], name).toEqual([...values(base[name])]);
  });

  it('a BertModel gets a fresh 2-label head, and says so', () => {
    const { data, notes } = importHfModel(bert('', { head: false }));
    expect(data.config).toMatchObject({ numClasses: 2, pooler: true });
    expect(data.weights['classifier.weight']!.shape).toEqual([2, d]);
    expect(notes.some((n) => n.startsWith('no classifier in the checkpoint: a fresh 2-label head'))).toBe(true);
  });

  it.each([
    [{ position_embedding_type: 'relative_key' }, 'hf/bert/config.json: position_embedding_type: "relative_key" is not supported; attend imports absolute (learned) positions'],
    [{ is_decoder: true }, 'hf/bert/config.json: is_decoder: true is not supported'],
    [{ problem_type: 'multi_label_classification' }, 'hf/bert/config.json: problem_type: "multi_label_classification" is not supported; attend imports single_label_classification'],
    [{ id2label: { 0: 'score' } }, 'hf/bert/config.json: num_labels: 1 (regression) is not supported'],
    [{ hidden_act: 'quick_gelu' }, 'hf/bert/config.json: hidden_act: "quick_gelu" is not supported'],
  ])('config %j is one line naming the field', (config, message) => {
    expect(() => importHfModel(bert('bert.', { config }))).toThrow(message);
  });
});

describe('importHf: a folder on disk', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'attend-hf-folder-'));
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** `model` as a folder: config.json, tokenizer_config.json, and the weights in `shards` files (1: model.safetensors). */
  async function write(name: string, model: HfModel, shards = 1): Promise<string> {
    const dir = join(root, name);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'config.json'), JSON.stringify(model.config));
    if (model.tokenizerConfig) await writeFile(join(dir, 'tokenizer_config.json'), JSON.stringify(model.tokenizerConfig));
    const names = Object.keys(model.weights);
    if (shards === 1) {
      await writeFile(join(dir, 'model.safetensors'), serializeSafetensors(model.weights));
      return dir;
    }
    const weightMap: Record<string, string> = {};
    for (let s = 0; s < shards; s++) {
      const file = `model-0000${s + 1}-of-0000${shards}.safetensors`;
      const part = names.filter((_, i) => i % shards === s);
      for (const n of part) weightMap[n] = file;
      await writeFile(join(dir, file), serializeSafetensors(Object.fromEntries(part.map((n) => [n, model.weights[n]!]))));
    }
    await writeFile(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
    return dir;
  }

  it('a sharded folder imports to the same checkpoint as model.safetensors', async () => {
    const model = bert();
    const single = await importHf(await write('single', model));
    const sharded = await importHf(await write('sharded', model, 3));
    expect(checkpointFiles(sharded.data)).toEqual(checkpointFiles(single.data));
  });

  it('an index naming a file outside the folder, a tensor its shard lacks, or a shard with tensors it does not list is refused', async () => {
    const dir = await write('bad-index', gpt2(), 2);
    const index = JSON.parse(await readFile(join(dir, 'model.safetensors.index.json'), 'utf8')) as { weight_map: Record<string, string> };
    const save = (map: Record<string, string>): Promise<void> => writeFile(join(dir, 'model.safetensors.index.json'), JSON.stringify({ weight_map: map }));
    await save({ ...index.weight_map, 'wte.weight': '../model-00001-of-00002.safetensors' });
    await expect(importHf(dir)).rejects.toThrow(`model.safetensors.index.json: weight_map['wte.weight'] is "../model-00001-of-00002.safetensors"; expected a .safetensors file name in the folder`);
    const first = index.weight_map['wte.weight']!;
    const other = first.includes('00001') ? first.replace('00001', '00002') : first.replace('00002', '00001');
    await save({ ...index.weight_map, 'wte.weight': other });
    await expect(importHf(dir)).rejects.toThrow(`${other}: has no tensor 'wte.weight', which model.safetensors.index.json puts there`);
    const { 'wte.weight': _, ...rest } = index.weight_map;
    await save(rest);
    await expect(importHf(dir)).rejects.toThrow(`${first}: tensor 'wte.weight' is not in model.safetensors.index.json's weight_map`);
  });

  it('a folder without weights, or whose config.json is a folder, is one line naming the file', async () => {
    const dir = join(root, 'no-weights');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'config.json'), JSON.stringify(gpt2().config));
    await expect(importHf(dir)).rejects.toThrow(`${join(dir, 'model.safetensors')}: missing, and no model.safetensors.index.json names shards`);
    const odd = join(root, 'odd');
    await mkdir(join(odd, 'config.json'), { recursive: true });
    await expect(importHf(odd)).rejects.toThrow(`${join(odd, 'config.json')}: not a regular file`);
  });
});
