import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  csvField,
  escapeLatex,
  escapeMarkdown,
  formatFixed,
  formatPruned,
  getConfigValue,
  groupRuns,
  meanStd,
  meanStdSeries,
  metricsToCsv,
  metricsToJson,
  tableToJson,
  toCsv,
  toLatex,
  toMarkdown,
  type RunRow,
} from '../../../src-shared/method/table';
import { paperRows } from './fixture';

const row = (run_id: number, config: Record<string, unknown>, metrics: Record<string, number>, status = 'finished'): RunRow => ({
  run_id,
  status,
  config,
  metrics,
});

describe('meanStd', () => {
  it('gives the mean and the sample std (n − 1)', () => {
    const { mean, std } = meanStd([0.5, 0.7]);
    expect(mean).toBeCloseTo(0.6, 15);
    expect(std).toBeCloseTo(Math.SQRT2 / 10, 15); // sqrt(((−0.1)² + 0.1²) / 1) = 0.1414…
    const three = meanStd([2, 4, 4, 4, 5, 5, 7, 9]);
    expect(three.mean).toBe(5);
    expect(three.std).toBeCloseTo(Math.sqrt(32 / 7), 14);
  });

  it('has no std for a single value, and neither for none', () => {
    expect(meanStd([0.42])).toEqual({ mean: 0.42, std: null });
    expect(meanStd([])).toEqual({ mean: null, std: null });
  });
});

describe('meanStdSeries', () => {
  it('averages runs x by x, with a ± std band only where more than one run has the point', () => {
    const a = [
      { step: 1, value: 0.5 },
      { step: 2, value: 0.7 },
      { step: 3, value: 0.9 },
    ];
    const b = [
      { step: 1, value: 0.7 },
      { step: 2, value: 0.7 },
    ];
    const c = [{ step: 2, value: Number.NaN }];
    const { points, band } = meanStdSeries([b, a, c]);
    expect(points.map((p) => p.step)).toEqual([1, 2, 3]);
    expect(points[0]!.value).toBeCloseTo(0.6, 15);
    expect(points[1]!.value).toBeCloseTo(0.7, 15);
    expect(points[2]!.value).toBe(0.9);
    const sd = Math.sqrt(((0.5 - 0.6) ** 2 + (0.7 - 0.6) ** 2) / 1);
    expect(band.map((p) => p.step)).toEqual([1, 2]);
    expect(band[0]!.lo).toBeCloseTo(0.6 - sd, 12);
    expect(band[0]!.hi).toBeCloseTo(0.6 + sd, 12);
    expect(band[1]!.hi - band[1]!.lo).toBeCloseTo(0, 15);
    expect(meanStdSeries([])).toEqual({ points: [], band: [] });
  });
});

describe('groupRuns', () => {
  it('groups by config keys in order of first appearance, with run ids per group', () => {
    const t = groupRuns(paperRows, ['strategy', 'prune_ratio'], ['clean_acc']);
    expect(t.groups.map((g) => g.values)).toEqual([
      ['none', 0],
      ['puma', 0.22],
      ['pe_22%', 0.22],
      ['random', 0.22],
    ]);
    expect(t.groups.map((g) => g.runIds)).toEqual([[1, 3, 5], [2, 4, 6], [7, 8], [9]]);
    const puma = t.groups[1]!.metrics.clean_acc!;
    expect(puma.n).toBe(3);
    expect(puma.mean).toBeCloseTo(0.9065, 12);
    expect(puma.std).toBeCloseTo(0.0009, 12);
  });

  it('compares config values by JSON equality, ignoring object key order', () => {
    const rows = [
      row(1, { model: { arch: 'cnn', width: 2 } }, { acc: 0.5 }),
      row(2, { model: { width: 2, arch: 'cnn' } }, { acc: 0.7 }),
      row(3, { model: { arch: 'cnn', width: 4 } }, { acc: 0.9 }),
      row(4, { model: [1, 2] }, { acc: 0.1 }),
      row(5, { model: [2, 1] }, { acc: 0.2 }),
    ];
    const t = groupRuns(rows, ['model'], ['acc']);
    expect(t.groups.map((g) => g.runIds)).toEqual([[1, 2], [3], [4], [5]]);
    expect(t.groups[0]!.metrics.acc!.mean).toBeCloseTo(0.6, 15);
    expect(t.groups[0]!.metrics.acc!.std).toBeCloseTo(0.1414213562373095, 15);
  });

  it('keeps a missing key apart from null and from other values', () => {
    const rows = [row(1, { eps: null }, { acc: 0.1 }), row(2, {}, { acc: 0.2 }), row(3, { eps: 'null' }, { acc: 0.3 })];
    const t = groupRuns(rows, ['eps'], ['acc']);
    expect(t.groups.map((g) => g.values)).toEqual([[null], [undefined], ['null']]);
  });

  it('reaches nested config values with dotted keys (a literal dotted key wins)', () => {
    const rows = [row(1, { attack: { eps: 8 } }, { acc: 0.5 }), row(2, { attack: { eps: 4 } }, { acc: 0.6 }), row(3, { 'attack.eps': 4 }, { acc: 0.7 })];
    const t = groupRuns(rows, ['attack.eps'], ['acc']);
    expect(t.groups.map((g) => [g.values, g.runIds])).toEqual([
      [[8], [1]],
      [[4], [2, 3]],
    ]);
    expect(getConfigValue({ a: { b: { c: 1 } } }, 'a.b.c')).toBe(1);
    expect(getConfigValue({ a: 1 }, 'a.b')).toBeUndefined();
  });

  it('with no group keys puts every run in one group', () => {
    const t = groupRuns([row(1, {}, { acc: 0.5 }), row(2, { x: 1 }, { acc: 0.7 })], [], ['acc']);
    expect(t.groups).toHaveLength(1);
    expect(t.groups[0]!.metrics.acc!.n).toBe(2);
  });

  it('marks the highest mean best, or the lowest where higherIsBetter is false', () => {
    const rows = [row(1, { s: 'a' }, { acc: 0.8, loss: 0.3 }), row(2, { s: 'b' }, { acc: 0.9, loss: 0.5 }), row(3, { s: 'c' }, { acc: 0.7, loss: 0.2 })];
    const t = groupRuns(rows, ['s'], ['acc', 'loss'], { higherIsBetter: { loss: false } });
    expect(t.groups.map((g) => g.metrics.acc!.best)).toEqual([false, true, false]);
    expect(t.groups.map((g) => g.metrics.loss!.best)).toEqual([false, false, true]);
    expect(t.higherIsBetter).toEqual({ acc: true, loss: false });
  });

  it('marks every tied group best, also when float sums differ in the last bit', () => {
    // (0.1 + 0.2) / 2 and (0.2 + 0.1) / 2 are equal; 0.15 differs from 0.15000000000000002 only in the last bit.
    const rows = [
      row(1, { s: 'a' }, { acc: 0.1 }),
      row(2, { s: 'a' }, { acc: 0.2 }),
      row(3, { s: 'b' }, { acc: 0.15000000000000002 }),
      row(4, { s: 'c' }, { acc: 0.15 }),
      row(5, { s: 'd' }, { acc: 0.149 }),
    ];
    const t = groupRuns(rows, ['s'], ['acc']);
    expect(t.groups.map((g) => g.metrics.acc!.best)).toEqual([true, true, true, false]);
  });

  it('leaves out runs that lack a metric or have a non-finite value; a group without values has no best', () => {
    const rows = [
      row(1, { s: 'a' }, { acc: 0.5, cw: 0.3 }),
      row(2, { s: 'a' }, { acc: 0.7 }),
      row(3, { s: 'a' }, { acc: Number.NaN, cw: 0.4 }),
      row(4, { s: 'b' }, { acc: 0.1 }),
    ];
    const t = groupRuns(rows, ['s'], ['acc', 'cw']);
    const [a, b] = t.groups;
    expect(a!.metrics.acc!.n).toBe(2);
    expect(a!.metrics.acc!.mean).toBeCloseTo(0.6, 15);
    expect(a!.metrics.cw!.n).toBe(2);
    expect(a!.metrics.cw!.mean).toBeCloseTo(0.35, 15);
    expect(b!.metrics.cw).toEqual({ n: 0, mean: null, std: null, best: false });
    // Only group a has cw: best among one is no comparison, so nothing is bold.
    expect(a!.metrics.cw!.best).toBe(false);
    expect(a!.metrics.acc!.best).toBe(true); // acc: two groups, a is higher
    expect(b!.metrics.acc!.best).toBe(false);
    const none = groupRuns([row(1, {}, {})], [], ['acc']);
    expect(none.groups[0]!.metrics.acc).toEqual({ n: 0, mean: null, std: null, best: false });
  });

  it('collects the distinct pruned shares of a group (a range when its runs differ) and rejects a share outside [0, 1]', () => {
    const rows = [
      { ...row(1, { s: 'a' }, { acc: 0.5 }), pruned: 0.25 },
      { ...row(2, { s: 'a' }, { acc: 0.6 }), pruned: 0.2 },
      { ...row(3, { s: 'a' }, { acc: 0.7 }), pruned: 0.2 + 1e-12 },
      { ...row(4, { s: 'b' }, { acc: 0.7 }), pruned: 0.225 },
      row(5, { s: 'c' }, { acc: 0.7 }),
    ];
    const t = groupRuns(rows, ['s'], ['acc']);
    expect(t.groups.map((g) => g.pruned)).toEqual([[0.2, 0.25], [0.225], []]);
    expect(t.groups.map(formatPruned)).toEqual(['20–25', '22.5', '']);
    expect(toMarkdown(t, { bold: false }).split('\n')[4]).toBe('| c | – | 1 | 70.00 |');
    expect(() => groupRuns([{ ...row(6, {}, { acc: 0.5 }), pruned: 1.5 }], [], ['acc'])).toThrow(
      /run 6 \(rows\[0\]\) pruned must be a fraction in \[0, 1\], got 1.5/,
    );
  });

  it('keeps only the listed statuses when asked', () => {
    const rows = [row(1, { s: 'a' }, { acc: 0.5 }), row(2, { s: 'a' }, { acc: 0.1 }, 'failed'), row(3, { s: 'b' }, { acc: 0.2 }, 'running')];
    const t = groupRuns(rows, ['s'], ['acc'], { statuses: ['finished'] });
    expect(t.groups.map((g) => g.runIds)).toEqual([[1]]);
  });

  it('rejects bad input with a message naming the problem', () => {
    expect(() => groupRuns(paperRows, ['strategy'], [])).toThrow(/method\/table groupRuns: metrics must name at least one key/);
    expect(() => groupRuns(paperRows, ['strategy'], ['acc', 'acc'])).toThrow(/names "acc" twice/);
    expect(() => groupRuns(paperRows, [''], ['acc'])).toThrow(/groupBy has an empty/);
    expect(() => groupRuns([{ run_id: 4, status: 'finished' } as unknown as RunRow], [], ['acc'])).toThrow(/run 4 \(rows\[0\]\) has no config object/);
    expect(() => groupRuns([row(5, {}, { acc: '0.5' as unknown as number })], [], ['acc'])).toThrow(/run 5 .*metric "acc" is string/);
    expect(() => groupRuns('x' as unknown as RunRow[], [], ['acc'])).toThrow(/rows must be an array/);
  });

  it('canonicalJson ignores key order but not array order', () => {
    expect(canonicalJson({ b: 1, a: { d: 2, c: 3 } })).toBe(canonicalJson({ a: { c: 3, d: 2 }, b: 1 }));
    expect(canonicalJson([1, 2])).not.toBe(canonicalJson([2, 1]));
    expect(canonicalJson(undefined)).not.toBe(canonicalJson(null));
  });
});

describe('formatFixed', () => {
  it('rounds half away from zero in decimal, not in binary', () => {
    expect(formatFixed(1.005, 2)).toBe('1.01'); // toFixed gives 1.00
    expect(formatFixed(0.58425, 2, 2)).toBe('58.43'); // as a percentage
    expect(formatFixed(0.0010000000000000009, 2, 2)).toBe('0.10');
    expect(formatFixed(-0.005, 2)).toBe('-0.01');
    expect(formatFixed(2.5, 0)).toBe('3');
    expect(formatFixed(0.123456, 3)).toBe('0.123');
  });

  it('never prints a negative zero', () => {
    expect(formatFixed(-0.001, 2)).toBe('0.00');
    expect(formatFixed(-0, 1)).toBe('0.0');
  });
});

describe('formatters', () => {
  const simple = () =>
    groupRuns(
      [row(1, { s: 'a' }, { acc: 0.5, loss: 1.25 }), row(2, { s: 'a' }, { acc: 0.7, loss: 1.75 }), row(3, { s: 'b' }, { acc: 0.7, loss: 2 })],
      ['s'],
      ['acc', 'loss'],
      {
        higherIsBetter: { loss: false },
      },
    );

  it('markdown honours percent per metric, digits and bold; "±" only where n > 1', () => {
    const md = toMarkdown(simple(), { percent: { loss: false }, digits: 3, bold: false });
    expect(md.split('\n')).toEqual([
      '| s | n | Training accuracy (%) | Training loss (epoch) |',
      '| :--- | ---: | :---: | :---: |',
      '| a | 2 | 60.000 ± 14.142 | 1.500 ± 0.354 |',
      '| b | 1 | 70.000 | 2.000 |',
      '',
    ]);
    const bolded = toMarkdown(simple(), { percent: false });
    expect(bolded).toContain('| s | n | Training accuracy | Training loss (epoch) |'); // a fraction: no "(%)"
    expect(bolded).toContain('| a | 2 | 0.60 ± 0.14 | **1.50 ± 0.35** |');
    expect(bolded).toContain('| b | 1 | **0.70** | 2.00 |');
  });

  it('by default shows accuracies in percent and other metrics as they are (Markdown, LaTeX, CSV)', () => {
    expect(toMarkdown(simple())).toContain('| a | 2 | 60.00 ± 14.14 | **1.50 ± 0.35** |');
    expect(toLatex(simple())).toContain('b & 1 & $\\mathbf{70.00}$ & $2.00$ \\\\');
    expect(toCsv(simple(), { lineEnding: '\n' }).split('\n')[2]).toBe('b,1,70,,1,2,,1');
  });

  it('latex without caption or label is a bare tabular; float: true wraps it', () => {
    const bare = toLatex(simple(), { percent: false, digits: 1 });
    expect(bare.startsWith('\\begin{tabular}{lrcc}\n\\toprule\ns & n & Training accuracy & Training loss (epoch) \\\\\n\\midrule\n')).toBe(true);
    expect(bare).toContain('a & 2 & $0.6_{\\pm 0.1}$ & $\\mathbf{1.5}_{\\pm 0.4}$ \\\\');
    expect(bare).toContain('b & 1 & $\\mathbf{0.7}$ & $2.0$ \\\\');
    expect(bare.endsWith('\\bottomrule\n\\end{tabular}\n')).toBe(true);
    const wrapped = toLatex(simple(), { float: true, placement: 'htb' });
    expect(wrapped.startsWith('\\begin{table}[htb]\n\\centering\n\\begin{tabular}')).toBe(true);
    expect(wrapped.endsWith('\\end{tabular}\n\\end{table}\n')).toBe(true);
  });

  it('latex rejects labels and placements that would break the document', () => {
    expect(() => toLatex(simple(), { label: 'tab main' })).toThrow(/method\/table toLatex: label "tab main"/);
    expect(() => toLatex(simple(), { label: 'tab}' })).toThrow(/label/);
    expect(() => toLatex(simple(), { placement: 't]x' })).toThrow(/placement/);
    expect(() => toMarkdown(simple(), { digits: -1 })).toThrow(/toMarkdown: digits must be an integer/);
  });

  it('escapes LaTeX special characters in group values and headers', () => {
    expect(escapeLatex('a_b%c&d#e$f{g}h')).toBe('a\\_b\\%c\\&d\\#e\\$f\\{g\\}h');
    expect(escapeLatex('x\\y~z^w')).toBe('x\\textbackslash{}y\\textasciitilde{}z\\textasciicircum{}w');
    const t = groupRuns([row(1, { data_set: '50% {gen} & #1', cfg: { k: [1, 2] } }, { 'acc_%': 0.5 })], ['data_set', 'cfg'], ['acc_%']);
    const latex = toLatex(t);
    // An unlisted metric keeps its name; its "acc" says accuracy, so percent.
    expect(latex).toContain('data\\_set & cfg & n & acc\\_\\% (\\%) \\\\');
    expect(latex).toContain('50\\% \\{gen\\} \\& \\#1 & \\{"k":[1,2]\\} & 1 & $50.00$ \\\\');
  });

  it('escapes Markdown pipes and line breaks', () => {
    expect(escapeMarkdown('a|b*c`d\\e\nf')).toBe('a\\|b\\*c\\`d\\\\e f');
    const t = groupRuns([row(1, { s: 'x|y' }, { acc: 0.5 })], ['s'], ['acc']);
    expect(toMarkdown(t)).toContain('| x\\|y | 1 | 50.00 |');
  });

  it('shows a missing group key as – / -- / empty', () => {
    const t = groupRuns([row(1, { s: 'a' }, { acc: 0.5 }), row(2, {}, { acc: 0.25 })], ['s'], ['acc']);
    expect(toMarkdown(t)).toContain('| – | 1 | 25.00 |');
    expect(toLatex(t)).toContain('-- & 1 & $25.00$ \\\\');
    expect(toCsv(t, { lineEnding: '\n' })).toBe('s,n,Training accuracy (%),Training accuracy (%) std,Training accuracy n\na,1,50,,1\n,1,25,,1\n');
  });

  it('CSV quotes fields per RFC 4180 and ends records with CRLF by default', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    const t = groupRuns([row(1, { s: 'pe, "22%"', grid: [1, 2] }, { acc: 0.5 })], ['s', 'grid'], ['acc']);
    expect(toCsv(t)).toBe('s,grid,n,Training accuracy (%),Training accuracy (%) std,Training accuracy n\r\n"pe, ""22%""","[1,2]",1,50,,1\r\n');
    expect(toCsv(t, { percent: false, digits: 1 })).toBe(
      's,grid,n,Training accuracy,Training accuracy std,Training accuracy n\r\n"pe, ""22%""","[1,2]",1,0.5,,1\r\n',
    );
  });

  it('tableToJson keeps stats with group values keyed by name', () => {
    const parsed = JSON.parse(tableToJson(simple()));
    expect(parsed.group_by).toEqual(['s']);
    expect(parsed.groups[1]).toEqual({
      group: { s: 'b' },
      n: 1,
      run_ids: [3],
      pruned: [],
      metrics: { acc: { n: 1, mean: 0.7, std: null, best: true }, loss: { n: 1, mean: 2, std: null, best: false } },
    });
  });
});

describe('raw metric exports', () => {
  const series = [
    { run_id: 1, key: 'clean_acc', step: 0, value: 0.1, time: '2025-01-01T00:00:00.000Z' },
    { run_id: 1, key: 'loss, train', step: 1, value: 2.302585092994046, time: 1735689600000 },
  ];

  it('metricsToCsv writes every point with full precision', () => {
    expect(metricsToCsv(series, { lineEnding: '\n' })).toBe(
      'run_id,key,step,value,time\n1,clean_acc,0,0.1,2025-01-01T00:00:00.000Z\n1,"loss, train",1,2.302585092994046,1735689600000\n',
    );
    expect(() => metricsToCsv([{ run_id: 1, key: 'a', step: 0, value: 'x' }] as never)).toThrow(/method\/table metricsToCsv: series\[0\]/);
  });

  it('metricsToJson round-trips the points', () => {
    expect(JSON.parse(metricsToJson(series))).toEqual(series);
  });
});
