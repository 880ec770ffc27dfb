import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { groupRuns, toCsv, toLatex, toMarkdown } from '../../../src-shared/method/table';
import { exportTable } from '../../../src-main/services/export/index';
import { paperRows } from './fixture';

// The golden files were written and checked by hand (see fixture.ts for the arithmetic);
// a change of output format must be a deliberate edit of these files.
const golden = (name: string) => readFileSync(new URL(`./golden/${name}`, import.meta.url), 'utf8');
const table = () => groupRuns(paperRows, ['strategy', 'prune_ratio'], ['clean_acc', 'robust_acc_cw']);

describe('golden exports of the paper-like table', () => {
  it('CSV: group keys, pruned share and n, then per metric mean (percent), std (only where n > 1) and n', () => {
    expect(toCsv(table(), { lineEnding: '\n' })).toBe(golden('table.csv'));
  });

  it('Markdown: readable headers, percent, "mean ± std" only where n > 1, best and ties bold, missing as –', () => {
    expect(toMarkdown(table())).toBe(golden('table.md'));
  });

  it('LaTeX: booktabs table float with escaped caption, labels and values', () => {
    const latex = toLatex(table(), {
      caption: 'Last-epoch accuracy (%), C&W attack, seeds #0--#2',
      label: 'tab:main',
      labels: { strategy: 'Strategy', clean_acc: 'Clean', robust_acc_cw: 'C&W' },
    });
    expect(latex).toBe(golden('table.tex'));
  });

  it('exportTable composes grouping and the same formatters', () => {
    const base = { rows: paperRows, groupBy: ['strategy', 'prune_ratio'], metrics: ['clean_acc', 'robust_acc_cw'] };
    expect(exportTable({ ...base, format: 'md' })).toBe(golden('table.md'));
    expect(exportTable({ ...base, format: 'csv', lineEnding: '\n' })).toBe(golden('table.csv'));
    expect(
      exportTable({
        ...base,
        format: 'latex',
        caption: 'Last-epoch accuracy (%), C&W attack, seeds #0--#2',
        label: 'tab:main',
        labels: { strategy: 'Strategy', clean_acc: 'Clean', robust_acc_cw: 'C&W' },
      }),
    ).toBe(golden('table.tex'));
  });
});
