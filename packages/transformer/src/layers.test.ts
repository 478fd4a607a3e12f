// The tfjs layer contract: getConfig() → fromConfig() rebuilds an equivalent layer, and every
// layer class is registered for serialization under its className.

import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { MultiHeadAttention } from './attention.js';
import { setupBackend } from './backend.js';
import { FeedForward, LayerNorm, TransformerLayer } from './layers.js';
import { EmbeddingTable } from './model.js';

beforeAll(async () => {
  await setupBackend(['cpu']);
});

type LayerClass = tf.serialization.SerializableConstructor<tf.serialization.Serializable>;

const layers: [string, () => { getConfig(): tf.serialization.ConfigDict; getClassName(): string }][] = [
  ['MultiHeadAttention', () => new MultiHeadAttention({ dModel: 8, numHeads: 2, score: 'additive', dropout: 0.1, seed: 4 })],
  ['LayerNorm', () => new LayerNorm({ dim: 8, eps: 1e-6 })],
  ['FeedForward', () => new FeedForward({ dModel: 8, dFf: 16, activation: 'relu', dropout: 0.2, residualScale: 0.5, seed: 2 })],
  ['TransformerLayer', () => new TransformerLayer({ dModel: 8, numHeads: 2, dFf: 16, norm: 'post', score: 'cosine', crossAttention: true, seed: 3 })],
  ['EmbeddingTable', () => new EmbeddingTable({ rows: 11, dModel: 8, std: 0.5, seed: 9 })],
];

describe('tfjs layer contract', () => {
  it.each(layers)('%s round-trips through getConfig/fromConfig', (_, make) => {
    const layer = make();
    const config = layer.getConfig();
    const registered = tf.serialization.SerializationMap.getMap().classNameMap[layer.getClassName()];
    expect(registered, `${layer.getClassName()} is registered`).toBeDefined();
    const [cls, fromConfig] = registered!;
    const rebuilt = fromConfig(cls as LayerClass, config) as unknown as { getConfig(): tf.serialization.ConfigDict };
    const { name: _a, ...expected } = config;
    const { name: _b, ...actual } = rebuilt.getConfig();
    expect(actual).toEqual(expected);
  });
});
