import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ForecasterConfigSchema } from './forecaster.config';

describe("the forecaster's configuration", () => {
  it('documents every FORECAST_* and FORECASTER_* variable the config reads in docs/forecaster.md, and no other', () => {
    const doc = readFileSync(resolve(__dirname, '../../../docs/forecaster.md'), 'utf8');
    const table = doc.slice(doc.indexOf('## Configuration'));
    const documented = new Set([...table.matchAll(/`(FORECAST(?:ER)?_[A-Z_]+)`/g)].map((m) => m[1]));
    const read = Object.keys(ForecasterConfigSchema.shape).filter((k) => /^FORECAST(ER)?_/.test(k));
    expect([...documented].sort()).toEqual(read.sort());
  });
});
