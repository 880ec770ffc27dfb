import { describe, expect, it } from 'vitest';
import { applySetArgs, expandGrid, parseGridArg, parseGridArgs, parseSetArg, parseValue, setConfigValue } from '../../../src-shared/method/sweep';

describe('expandGrid', () => {
  it('is the cartesian product with the first grid key varying slowest', () => {
    const configs = expandGrid({ epochs: 5, strategy: 'x' }, { strategy: ['none', 'puma'], prune_ratio: [0.1, 0.2, 0.3] });
    expect(configs.map((c) => [c.strategy, c.prune_ratio])).toEqual([
      ['none', 0.1],
      ['none', 0.2],
      ['none', 0.3],
      ['puma', 0.1],
      ['puma', 0.2],
      ['puma', 0.3],
    ]);
    expect(configs.every((c) => c.epochs === 5)).toBe(true);
  });

  it('sets dotted keys inside nested objects without touching the base or sharing objects', () => {
    const base = { attack: { eps: 8, steps: 10 }, seed: 0 };
    const configs = expandGrid(base, { 'attack.eps': [4, 8], seed: [0, 1], 'optim.lr': [0.1] });
    expect(configs).toHaveLength(4);
    expect(configs[1]).toEqual({ attack: { eps: 4, steps: 10 }, seed: 1, optim: { lr: 0.1 } });
    expect(base).toEqual({ attack: { eps: 8, steps: 10 }, seed: 0 });
    (configs[0]!.attack as Record<string, unknown>).steps = 99;
    expect((configs[1]!.attack as Record<string, unknown>).steps).toBe(10);
  });

  it('an empty grid gives one copy of the base', () => {
    const base = { a: { b: 1 } };
    const [only, ...rest] = expandGrid(base, {});
    expect(rest).toHaveLength(0);
    expect(only).toEqual(base);
    expect(only).not.toBe(base);
  });

  it('rejects empty value lists and bad keys', () => {
    expect(() => expandGrid({}, { seed: [] })).toThrow(/method\/sweep expandGrid: grid key "seed" needs at least one value/);
    expect(() => expandGrid({}, { 'a..b': [1] })).toThrow(/empty part/);
    expect(() => expandGrid({}, { '__proto__.x': [1] })).toThrow(/reserved name "__proto__"/);
    expect(() => setConfigValue({ epochs: 10 }, 'epochs.x', 1)).toThrow(/"epochs" is 10, not an object/);
  });
});

describe('argument parsing', () => {
  it('parses values as JSON when they parse, else keeps the text', () => {
    expect(parseValue('1')).toBe(1);
    expect(parseValue('0.5')).toBe(0.5);
    expect(parseValue('1e-3')).toBe(0.001);
    expect(parseValue('true')).toBe(true);
    expect(parseValue('null')).toBe(null);
    expect(parseValue('[1,2]')).toEqual([1, 2]);
    expect(parseValue('"7"')).toBe('7');
    expect(parseValue('none')).toBe('none');
    expect(parseValue('8/255')).toBe('8/255');
    expect(parseValue(' puma ')).toBe('puma');
    expect(parseValue('')).toBe('');
  });

  it('parseSetArg splits at the first "="', () => {
    expect(parseSetArg('epochs=1')).toEqual({ key: 'epochs', value: 1 });
    expect(parseSetArg('attack.eps=0.031')).toEqual({ key: 'attack.eps', value: 0.031 });
    expect(parseSetArg('name=a=b')).toEqual({ key: 'name', value: 'a=b' });
    expect(parseSetArg('tag=')).toEqual({ key: 'tag', value: '' });
    expect(() => parseSetArg('epochs')).toThrow(/method\/sweep parseSetArg: "epochs" is not of the form key=value/);
    expect(() => parseSetArg('=1')).toThrow(/not of the form/);
  });

  it('parseGridArg splits values on top-level commas', () => {
    expect(parseGridArg('strategy=none,puma')).toEqual({ key: 'strategy', values: ['none', 'puma'] });
    expect(parseGridArg('prune_ratio=0,0.22,0.5')).toEqual({ key: 'prune_ratio', values: [0, 0.22, 0.5] });
    expect(parseGridArg('layers=[1,2],[3,4]')).toEqual({
      key: 'layers',
      values: [
        [1, 2],
        [3, 4],
      ],
    });
    expect(parseGridArg('opt={"lr":0.1,"m":0.9},{"lr":0.2}')).toEqual({ key: 'opt', values: [{ lr: 0.1, m: 0.9 }, { lr: 0.2 }] });
    expect(parseGridArg('label="a,b",c')).toEqual({ key: 'label', values: ['a,b', 'c'] });
    expect(parseGridArg('ema=true,false')).toEqual({ key: 'ema', values: [true, false] });
    expect(() => parseGridArg('seed=1,,2')).toThrow(/method\/sweep parseGridArg: "seed=1,,2" has an empty value/);
    expect(() => parseGridArg('seed=')).toThrow(/empty value/);
  });

  it('parseGridArgs and applySetArgs combine several arguments', () => {
    const grid = parseGridArgs(['strategy=none,puma', 'seed=0,1']);
    expect(grid).toEqual({ strategy: ['none', 'puma'], seed: [0, 1] });
    expect(expandGrid({}, grid).map((c) => `${c.strategy}/${c.seed}`)).toEqual(['none/0', 'none/1', 'puma/0', 'puma/1']);
    expect(() => parseGridArgs(['seed=0', 'seed=1'])).toThrow(/grid key "seed" given twice/);
    expect(applySetArgs({ epochs: 10, attack: { eps: 8 } }, ['epochs=1', 'attack.steps=3', 'epochs=2'])).toEqual({ epochs: 2, attack: { eps: 8, steps: 3 } });
  });
});
