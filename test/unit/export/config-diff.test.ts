import { describe, expect, it } from 'vitest';
import { configDiff, flattenConfig } from '../../../src-shared/method/config-diff';

describe('flattenConfig', () => {
  it('flattens nested objects to dotted keys and keeps arrays and empty objects whole', () => {
    expect(flattenConfig({ a: 1, b: { c: 2, d: { e: [1, 2] } }, f: {}, g: null })).toEqual({ a: 1, 'b.c': 2, 'b.d.e': [1, 2], f: {}, g: null });
  });
});

describe('configDiff', () => {
  const configs = [
    { run_id: 3, config: { strategy: 'none', epochs: 10, attack: { eps: 8, steps: 10 }, layers: [64, 64] } },
    { run_id: 4, config: { strategy: 'puma', epochs: 10, attack: { steps: 10, eps: 4 }, layers: [64, 64], ema: true } },
  ];

  it('lists every key with one value per run and marks the ones that differ', () => {
    const diff = configDiff(configs);
    expect(diff.runIds).toEqual([3, 4]);
    expect(diff.rows).toEqual([
      { key: 'strategy', values: ['none', 'puma'], differs: true },
      { key: 'epochs', values: [10, 10], differs: false },
      { key: 'attack.eps', values: [8, 4], differs: true },
      { key: 'attack.steps', values: [10, 10], differs: false },
      {
        key: 'layers',
        values: [
          [64, 64],
          [64, 64],
        ],
        differs: false,
      },
      { key: 'ema', values: [undefined, true], differs: true },
    ]);
  });

  it('onlyChanged keeps just the differing keys', () => {
    expect(configDiff(configs, { onlyChanged: true }).rows.map((r) => r.key)).toEqual(['strategy', 'attack.eps', 'ema']);
  });

  it('compares arrays and objects by value', () => {
    const diff = configDiff([
      { run_id: 1, config: { layers: [1, 2], opt: [{ a: 1, b: 2 }] } },
      { run_id: 2, config: { layers: [2, 1], opt: [{ b: 2, a: 1 }] } },
    ]);
    expect(diff.rows.map((r) => [r.key, r.differs])).toEqual([
      ['layers', true],
      ['opt', false],
    ]);
  });

  it('handles one run and no runs, and rejects a run without config', () => {
    expect(configDiff([{ run_id: 1, config: { a: 1 } }]).rows).toEqual([{ key: 'a', values: [1], differs: false }]);
    expect(configDiff([])).toEqual({ runIds: [], rows: [] });
    expect(() => configDiff([{ run_id: 9 } as never])).toThrow(/method\/config-diff configDiff: configs\[0\] \(run 9\) has no config object/);
  });
});
