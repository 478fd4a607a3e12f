import { describe, expect, it } from 'vitest';
import { PRESETS } from '@attend/core';
import { decodeSettings, generatesText, type DecodeForm } from './decode-controls.js';
import { InputError } from './decode.js';

const form: DecodeForm = { strategy: 'sample', temperature: '0.8', topK: '5', topP: '0.9', seed: '7', maxNewTokens: '' };

describe('generatesText', () => {
  it('is true for the kinds that generate tokens and false for the classifiers', () => {
    expect(PRESETS.filter((preset) => generatesText({ preset })).sort()).toEqual(['decoder-lm', 'encoder-decoder', 'rnn-seq2seq']);
  });
});

describe('decodeSettings', () => {
  it("reads sampling and greedy as core's DecodeStrategy, with an optional token limit", () => {
    expect(decodeSettings(form)).toEqual({ strategy: { kind: 'sample', seed: 7, temperature: 0.8, topK: 5, topP: 0.9 } });
    expect(decodeSettings({ ...form, strategy: 'greedy', maxNewTokens: '4' })).toEqual({ strategy: { kind: 'greedy' }, maxNewTokens: 4 });
  });

  it('names the field and what is allowed', () => {
    expect(() => decodeSettings({ ...form, seed: '1.5' })).toThrow(new InputError("seed is '1.5'; expected an integer >= 0"));
    expect(() => decodeSettings({ ...form, topK: '-1' })).toThrow("top-k is '-1'; expected an integer >= 0");
    expect(() => decodeSettings({ ...form, topP: '0' })).toThrow("top-p is '0'; expected a number in (0, 1]");
    expect(() => decodeSettings({ ...form, temperature: '' })).toThrow("temperature is ''; expected a number >= 0");
    expect(() => decodeSettings({ ...form, strategy: 'greedy', maxNewTokens: '0' })).toThrow("max new tokens is '0'; expected an integer >= 1");
    expect(() => decodeSettings({ ...form, strategy: 'beam' })).toThrow("decoding is 'beam'; expected greedy or sample");
  });
});
