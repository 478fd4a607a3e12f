// The run section's decoding controls: which kinds get them (those that generate text), and the
// form's values read as core's DecodeStrategy plus a token limit, with one error naming the field.

import { modelTask, type DecodeStrategy, type ModelConfig } from '@attend/core';
import { InputError } from './decode.js';

/** Whether a model generates text token by token (decoder-lm, encoder-decoder, rnn-seq2seq), and so takes decoding controls. */
export function generatesText(config: Pick<ModelConfig, 'preset'>): boolean {
  const task = modelTask(config);
  return task === 'text-generation' || task === 'translation';
}

/** The controls as the page reads them: strings from the inputs, '' for an empty one. */
export interface DecodeForm {
  strategy: string;
  temperature: string;
  topK: string;
  topP: string;
  seed: string;
  maxNewTokens: string;
}

export interface DecodeSettings {
  strategy: DecodeStrategy;
  /** Absent: as many as maxSeqLen allows. */
  maxNewTokens?: number;
}

function integer(field: string, text: string, min: number): number {
  const v = Number(text);
  if (text.trim() === '' || !Number.isInteger(v) || v < min) throw new InputError(`${field} is '${text}'; expected an integer >= ${min}`);
  return v;
}

/** Reads the form; temperature, top-k and top-p are checked again by core's sampler. */
export function decodeSettings(form: DecodeForm): DecodeSettings {
  const maxNewTokens = form.maxNewTokens.trim() === '' ? {} : { maxNewTokens: integer('max new tokens', form.maxNewTokens, 1) };
  if (form.strategy === 'greedy') return { strategy: { kind: 'greedy' }, ...maxNewTokens };
  if (form.strategy !== 'sample') throw new InputError(`decoding is '${form.strategy}'; expected greedy or sample`);
  const temperature = Number(form.temperature);
  if (form.temperature.trim() === '' || !(temperature >= 0) || !Number.isFinite(temperature)) throw new InputError(`temperature is '${form.temperature}'; expected a number >= 0`);
  const topP = Number(form.topP);
  if (form.topP.trim() === '' || !(topP > 0 && topP <= 1)) throw new InputError(`top-p is '${form.topP}'; expected a number in (0, 1]`);
  const strategy: DecodeStrategy = { kind: 'sample', seed: integer('seed', form.seed, 0), temperature, topK: integer('top-k', form.topK, 0), topP };
  return { strategy, ...maxNewTokens };
}
