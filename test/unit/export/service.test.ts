import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { exportMetrics, exportTable, formatFromFileName, writeExportFile } from '../../../src-main/services/export/index';
import { paperRows } from './fixture';

const base = { rows: paperRows, groupBy: ['strategy'], metrics: ['clean_acc'] };

describe('services/export', () => {
  const dir = mkdtempSync(join(tmpdir(), 'puma-export-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exportTable returns JSON with the grouped statistics', () => {
    const parsed = JSON.parse(exportTable({ ...base, format: 'json' }));
    expect(parsed.groups.map((g: { group: { strategy: string } }) => g.group.strategy)).toEqual(['none', 'puma', 'pe_22%', 'random']);
    expect(parsed.groups[1].metrics.clean_acc.best).toBe(true);
  });

  it('exportTable passes options through: statuses, percent, digits, bold', () => {
    const rows = paperRows.map((r) => (r.run_id === 2 ? { ...r, status: 'failed' } : r));
    const md = exportTable({ ...base, rows, format: 'md', statuses: ['finished'], percent: false, digits: 4, bold: false });
    expect(md).toContain('| strategy | Pruned (%) | n | Clean accuracy |'); // a fraction: no "(%)" in the header
    expect(md).toContain('| puma | 22 | 2 | 0.9070 ± 0.0006 |'); // run 2 (0.9056) left out: mean(0.9065, 0.9074)
    expect(md).not.toContain('**');
  });

  it('exportTable rejects an unknown format, no rows, or no run with the wanted status', () => {
    expect(() => exportTable({ ...base, format: 'html' as never })).toThrow(
      /services\/export exportTable: format must be one of csv, md, latex, json, got "html"/,
    );
    expect(() => exportTable({ ...base, rows: [], format: 'csv' })).toThrow(/no runs to export/);
    expect(() => exportTable({ ...base, format: 'csv', statuses: ['running'] })).toThrow(/no run has status running/);
  });

  it('exportMetrics writes CSV or JSON', () => {
    const series = [{ run_id: 1, key: 'loss', step: 0, value: 1.5, time: '2025-01-01T00:00:00Z' }];
    expect(exportMetrics({ series, format: 'csv' })).toBe('run_id,key,step,value,time\r\n1,loss,0,1.5,2025-01-01T00:00:00Z\r\n');
    expect(JSON.parse(exportMetrics({ series, format: 'json' }))).toEqual(series);
    expect(() => exportMetrics({ series, format: 'md' as never })).toThrow(/exportMetrics: format must be one of csv, json/);
  });

  it('formatFromFileName maps extensions', () => {
    expect(formatFromFileName('out/results.TEX')).toBe('latex');
    expect(formatFromFileName('a.md')).toBe('md');
    expect(formatFromFileName('a.csv')).toBe('csv');
    expect(formatFromFileName('a.json')).toBe('json');
    expect(formatFromFileName('a.txt')).toBeNull();
  });

  it('writeExportFile creates folders and names the file on failure', () => {
    const file = join(dir, 'nested', 'table.tex');
    writeExportFile(file, 'x\n');
    expect(readFileSync(file, 'utf8')).toBe('x\n');
    expect(() => writeExportFile(join(dir, 'nested'), 'y')).toThrow(new RegExp(`cannot write ${join(dir, 'nested').replace(/[/\\]/g, '.')}`));
  });
});
