// The Hugging Face exporters: attend → Hugging Face → attend gives the same config and the same
// weights bit for bit (GPT-2 tied and untied, BERT, ViT, with config values the Hugging Face
// fields must carry back); a Hugging Face model imported and exported back has its own tensors
// (BERT's token types included); LoRA adapters are merged;
// configs with no Hugging Face equivalent are refused in one line naming the field. (Logits in
// PyTorch: e2e/src/hf-export.test.ts.)

import { describe, expect, it } from 'vitest';
import { createModelConfig } from '../config.js';
import type { CheckpointData } from '../checkpoint-format.js';
import { importHfModel } from '../hf-import/index.js';
import type { HfModel } from '../hf-import/model.js';
import { loraNames, mergeLora } from '../lora.js';
import { TOKEN_TYPES_WEIGHT } from '../models/encoder-classifier/config.js';
import type { ModelConfig } from '../models/registry.js';
import { f32Tensor, toFloat32, type NamedTensor } from '../safetensors.js';
import { bert, d, gpt2, tensors, vit } from '../test-utils/hf-models.js';
import { exportHfModel, hfModelFiles } from './index.js';

type Data = CheckpointData<NamedTensor>;

/** Whether two tensor sets hold the same names, dtypes, shapes and bytes. */
function expectSameTensors(got: Record<string, NamedTensor>, want: Record<string, NamedTensor>): void {
  expect(Object.keys(got).sort()).toEqual(Object.keys(want).sort());
  for (const [name, t] of Object.entries(want)) {
    const g = got[name]!;
    expect([name, g.dtype, g.shape]).toEqual([name, t.dtype, t.shape]);
    expect(Buffer.from(g.data).equals(Buffer.from(t.data)), `${name}: bytes differ`).toBe(true);
  }
}

/** An attend checkpoint imported from `model`, with `changes` to fields the weights do not pin. */
function attendData(model: HfModel, changes: Record<string, unknown> = {}): Data {
  const { data } = importHfModel(model);
  return { ...data, config: createModelConfig({ ...data.config, ...changes } as never) };
}

/** A GPT-2 whose head is its own tensor. */
function untiedGpt2(): HfModel {
  const model = gpt2('transformer.', { tie_word_embeddings: false });
  return { ...model, weights: { ...model.weights, ...tensors({ 'lm_head.weight': model.weights['transformer.wte.weight']!.shape }, 7) } };
}

const roundTrip = (data: Data): Data => importHfModel(exportHfModel(data)).data;

describe('attend → Hugging Face → attend is bit-exact', () => {
  const cases: [string, Data][] = [
    ['decoder-lm as GPT2LMHeadModel (tied head, relu, own token ids)', attendData(gpt2(), { dropout: 0.05, activation: 'relu', padTokenId: 3, bosTokenId: 1, eosTokenId: 2, layerNormEps: 1e-6 })],
    ['decoder-lm with an untied head', attendData(untiedGpt2(), {})],
    ['encoder-classifier as BertForSequenceClassification', attendData(bert(), { dropout: 0.2, bosTokenId: 2, eosTokenId: 3, padTokenId: 0 })],
    ['vit-classifier as ViTForImageClassification (pixelScale 1/16)', attendData(vit(), { dropout: 0.1, pixelScale: 1 / 16, activation: 'gelu_new' })],
  ];
  for (const [name, data] of cases) {
    it(name, () => {
      const back = roundTrip(data);
      expect(back.config).toEqual(data.config);
      expectSameTensors(back.weights, data.weights);
    });
  }

  it('the untied case really has its own head, and the tied one writes none', () => {
    expect(Object.keys(exportHfModel(cases[1]![1]).weights)).toContain('lm_head.weight');
    expect(Object.keys(exportHfModel(cases[0]![1]).weights)).not.toContain('lm_head.weight');
  });
});

describe('Hugging Face → attend → Hugging Face', () => {
  it('GPT-2: the same tensors under the same names (Conv1D [in, out], fused c_attn), the mask buffers left out', () => {
    const model = gpt2('transformer.');
    const back = exportHfModel(importHfModel(model).data);
    expectSameTensors(back.weights, model.weights);
    expect(back.config).toMatchObject({ model_type: 'gpt2', architectures: ['GPT2LMHeadModel'], n_embd: d, activation_function: 'gelu_new', tie_word_embeddings: true });
    expect(back.config).not.toHaveProperty('attend');
  });

  it('ViT: the same tensors (conv kernel [d, C, p, p], CLS [1, 1, d], positions [1, n + 1, d]) and labels', () => {
    const model = vit();
    const back = exportHfModel(importHfModel(model).data);
    expectSameTensors(back.weights, model.weights);
    expect(back.config).toMatchObject({ model_type: 'vit', architectures: ['ViTForImageClassification'], patch_size: 4, num_channels: 2, num_labels: 3 });
    expect(back.preprocessorConfig).toMatchObject({ do_rescale: true, rescale_factor: 1, do_normalize: false });
    expect(back.config.id2label).toEqual({ 0: 'cat', 1: 'dog', 2: 'bird' });
  });

  it('BERT: the same tensors, the token types included, and labels', () => {
    const model = bert();
    const back = exportHfModel(importHfModel(model).data);
    expectSameTensors(back.weights, model.weights);
    expect(back.config).toMatchObject({ model_type: 'bert', architectures: ['BertForSequenceClassification'], type_vocab_size: 2, layer_norm_eps: 1e-12, hidden_act: 'gelu', num_labels: 3 });
    expect([back.config.id2label, back.config.label2id]).toEqual([{ 0: 'neg', 1: 'neu', 2: 'pos' }, { neg: 0, neu: 1, pos: 2 }]);
  });

  it('BERT without token types: a table of zeros, which the import leaves out again', () => {
    const { data } = importHfModel(bert());
    const { [TOKEN_TYPES_WEIGHT]: _types, ...weights } = data.weights;
    const config = { ...data.config, typeVocabSize: 0 } as ModelConfig;
    const back = exportHfModel({ config, weights });
    const table = back.weights['bert.embeddings.token_type_embeddings.weight']!;
    expect([table.shape, [...toFloat32(table)].every((x) => x === 0)]).toEqual([[2, d], true]);
    const again = importHfModel(back);
    expect(again.data.config).toEqual(config);
    expect(again.data.weights).not.toHaveProperty(TOKEN_TYPES_WEIGHT);
    expect(again.notes).toContain('token types: the table of 2 is all zeros and is left out (it adds nothing)');
  });
});

describe('label names', () => {
  it('an imported id2label is the config\'s labels; LABEL_i defaults and a headless model name none', () => {
    expect(importHfModel(bert()).data.config.labels).toEqual(['neg', 'neu', 'pos']);
    expect(importHfModel(bert('bert.', { config: { id2label: { 0: 'LABEL_0', 1: 'LABEL_1', 2: 'LABEL_2' } } })).data.config.labels).toBeUndefined();
    expect(importHfModel(bert('', { head: false })).data.config.labels).toBeUndefined();
  });

  it('refuses labels that do not name each class once, or a kind without classes', () => {
    const { config } = importHfModel(bert()).data;
    expect(() => createModelConfig({ ...config, labels: ['a', 'b'] } as never)).toThrow(/^labels: 2 names for 3 classes; give one name per class$/);
    expect(() => createModelConfig({ ...config, labels: ['a', 'b', 'a'] } as never)).toThrow(/^labels: "a" names two classes/);
    expect(() => createModelConfig({ ...config, labels: ['a', 7, 'c'] } as never)).toThrow(/^labels: an array is not allowed; expected 3 label names/);
    expect(() => createModelConfig({ ...importHfModel(gpt2()).data.config, labels: ['a'] } as never)).toThrow(/^labels: preset 'decoder-lm' has no classes to name/);
  });
});

describe('exportHfModel', () => {
  it('merges LoRA adapters: the tensors are those of the merged checkpoint', () => {
    const data = attendData(gpt2());
    const rank = 2;
    const lora = { rank, alpha: 4, targets: ['q', 'v'] };
    const weights = { ...data.weights };
    const adapters: Record<string, number[]> = {};
    for (const name of Object.keys(data.weights).filter((n) => /self_attn\.(q|v)_proj\.weight$/.test(n))) {
      const [outDim, inDim] = data.weights[name]!.shape as [number, number];
      const { a, b } = loraNames(name);
      Object.assign(adapters, { [a]: [rank, inDim], [b]: [outDim, rank] });
    }
    Object.assign(weights, tensors(adapters, 9));
    const config = createModelConfig({ ...data.config, lora } as never) as ModelConfig;
    const merged = mergeLora(config, weights);
    const exported = exportHfModel({ config, weights });
    expect(exported.weights).toEqual(exportHfModel(merged).weights);
    // The adapters changed something: the merged c_attn is not the base model's.
    expect(exported.weights['transformer.h.0.attn.c_attn.weight']).not.toEqual(exportHfModel(data).weights['transformer.h.0.attn.c_attn.weight']);
  });

  it('writes config.json, model.safetensors, the tokenizer and the preprocessor config as files', () => {
    const text = new TextDecoder();
    const model = exportHfModel({ ...attendData(vit()), tokenizer: undefined });
    const files = hfModelFiles(model);
    expect(Object.keys(files).sort()).toEqual(['config.json', 'model.safetensors', 'preprocessor_config.json']);
    expect(JSON.parse(text.decode(files['config.json']![0]))).toEqual(model.config);
    const lm = hfModelFiles(exportHfModel({ ...attendData(gpt2()), tokenizer: { model: { type: 'BPE' } } }));
    expect(JSON.parse(text.decode(lm['tokenizer.json']![0]))).toEqual({ model: { type: 'BPE' } });
  });

  const refusals: [string, Record<string, unknown>, RegExp][] = [
    ['rope positions', { positional: 'rope' }, /^positional: "rope" has no equivalent in Hugging Face GPT2LMHeadModel \(it has "learned"\)/],
    ['cosine attention', { attention: 'cosine' }, /^attention: "cosine" has no equivalent/],
    ['post-norm', { norm: 'post' }, /^norm: "post" has no equivalent in Hugging Face GPT2LMHeadModel/],
    ['scaled embeddings', { scaleEmbedding: true }, /^scaleEmbedding: true has no equivalent/],
  ];
  for (const [what, changes, message] of refusals) {
    it(`refuses a GPT-2 with ${what}, naming the field`, () => {
      expect(() => exportHfModel(attendData(gpt2(), changes))).toThrow(message);
    });
  }

  it('refuses a BERT with mean pooling, and a ViT with spare positions', () => {
    expect(() => exportHfModel(attendData(bert(), { pooling: 'mean' }))).toThrow(/^pooling: "mean" has no equivalent in Hugging Face BertForSequenceClassification \(it has "cls"\)/);
    const data = attendData(vit());
    const positions = data.weights['encoder.embed_positions.weight']!;
    const spare = { ...data, config: createModelConfig({ ...data.config, maxSeqLen: 6 } as never), weights: { ...data.weights, 'encoder.embed_positions.weight': f32Tensor([6, d], new Float32Array(6 * d)) } };
    expect(positions.shape).toEqual([5, d]);
    expect(() => exportHfModel(spare)).toThrow(/^maxSeqLen: 6 has no equivalent in Hugging Face ViTForImageClassification \(it has 5 positions/);
  });

  it('refuses a kind with no Hugging Face class', () => {
    const config = createModelConfig({ preset: 'rnn-seq2seq', vocabSize: 10 } as never);
    expect(() => exportHfModel({ config, weights: {} })).toThrow(/^preset: rnn-seq2seq has no Hugging Face class attend exports to; the Hugging Face layout is written for decoder-lm \(GPT2LMHeadModel\), encoder-classifier/);
  });
});
