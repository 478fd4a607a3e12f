// What `attend <command> --help` promises, checked against the registries it describes.

import { HF_IMPORTERS } from '@attend/core';
import { describe, expect, it } from 'vitest';
import { attend } from './test-utils/attend.js';

describe('help texts', () => {
  it('import --help names every model_type the importer registry takes', async () => {
    const r = await attend(['import', '--help']);
    expect(r.code).toBe(0);
    const line = r.stdout.split('\n').find((l) => l.startsWith('import a Hugging Face model folder'));
    expect(line, r.stdout).toBeDefined();
    for (const modelType of Object.keys(HF_IMPORTERS)) expect(line).toMatch(new RegExp(`\\b${modelType}\\b`));
  });
});
