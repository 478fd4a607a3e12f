// What `attend <command> --help` promises, checked against the registries it describes.

import { HF_IMPORTERS } from '@attend/core';
import { describe, expect, it } from 'vitest';
import { attend } from './test-utils/attend.js';
import { TRAINING_FIELDS } from './train-settings.js';

describe('help texts', () => {
  it('import --help names every model_type the importer registry takes', async () => {
    const r = await attend(['import', '--help']);
    expect(r.code).toBe(0);
    const line = r.stdout.split('\n').find((l) => l.startsWith('import a Hugging Face model folder'));
    expect(line, r.stdout).toBeDefined();
    for (const modelType of Object.keys(HF_IMPORTERS)) expect(line).toMatch(new RegExp(`\\b${modelType}\\b`));
    // And the paragraph after the examples that says what each becomes.
    const supported = r.stdout.slice(r.stdout.indexOf('Supported:'), r.stdout.indexOf('tokenizer.json is copied'));
    expect(supported, r.stdout).not.toBe('');
    for (const modelType of Object.keys(HF_IMPORTERS)) expect(supported).toMatch(new RegExp(`\\b${modelType}\\b`));
  });

  it("train --help's --config names every training field a config file takes", async () => {
    const r = await attend(['train', '--help']);
    expect(r.code).toBe(0);
    // The option's description, wrapped over the lines before the next option.
    const lines = r.stdout.split('\n');
    const start = lines.findIndex((l) => l.trimStart().startsWith('--config <file>'));
    expect(start, r.stdout).toBeGreaterThanOrEqual(0);
    const end = lines.findIndex((l, i) => i > start && l.trimStart().startsWith('-'));
    const description = lines.slice(start, end).join(' ');
    for (const field of TRAINING_FIELDS) expect(description).toMatch(new RegExp(`\\b${field}\\b`));
  });
});
