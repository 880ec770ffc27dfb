import fs from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkExpansionRatio, jsonDepth, LIMITS, parseJsonText, readJsonFile } from '../../../src-main/services/limits';
import { tempDir } from '../../helpers/tmp';

const t = tempDir('puma-json-');
afterAll(() => t.cleanup());

describe('the limited JSON reader', () => {
  it('counts nesting outside strings only (brackets and escaped quotes inside strings do not count)', () => {
    expect(jsonDepth('{"a": [1, {"b": []}]}')).toBe(4);
    expect(jsonDepth('{"a": "[[[[{{{{"}')).toBe(1);
    expect(jsonDepth('{"a": "say \\"[[[\\" twice", "b": [[]]}')).toBe(3);
    expect(jsonDepth('42')).toBe(0);
  });

  it('refuses text nested past the limit before parsing, naming the source', () => {
    expect(parseJsonText('[[[]]]', 'x.json', 3)).toEqual([[[]]]);
    expect(() => parseJsonText('[[[[]]]]', 'x.json', 3)).toThrow(/^x\.json: JSON nested deeper than 3 levels; refused$/);
    const deep = '['.repeat(1_000_000) + ']'.repeat(1_000_000);
    expect(() => parseJsonText(deep, 'deep.json')).toThrow(/deep\.json: JSON nested deeper than 100 levels/);
  });

  it('never echoes the text of a file that is not JSON', () => {
    const file = path.join(t.dir, 'shadow');
    fs.writeFileSync(file, 'root:$6$secret:19000:0:99999:7:::\n');
    expect(() => readJsonFile(file)).toThrow(`${file}: not valid JSON`);
    expect(() => readJsonFile(file)).not.toThrow(/secret/);
  });

  it('refuses a file past the size limit without reading it', () => {
    const file = path.join(t.dir, 'big.json');
    fs.writeFileSync(file, Buffer.alloc(2048, 0x20));
    expect(() => readJsonFile(file, 1024)).toThrow(/big\.json: 2\.0 KiB, past the limit of 1\.0 KiB for a JSON file/);
    expect(() => readJsonFile(path.join(t.dir, 'none.json'))).toThrow(/none\.json: cannot read \(ENOENT\)/);
  });
});

describe('the expansion ratio check', () => {
  const MiB = 1024 * 1024;
  it('lets anything through below the 256 MiB floor, then refuses streams past the ratio', () => {
    expect(() => checkExpansionRatio('a.gz', 255 * MiB, 1)).not.toThrow();
    expect(() => checkExpansionRatio('a.gz', 300 * MiB, (300 * MiB) / 40)).not.toThrow();
    expect(() => checkExpansionRatio('a.gz', 300 * MiB, (300 * MiB) / 60)).toThrow(
      /^a\.gz: expands past 300\.0 MiB from 5\.0 MiB of compressed data \(over 50:1\): refused as a decompression bomb\. If the data is genuine/,
    );
  });

  it('image folders allow flat synthetic images (~100:1) but not PNGs of zeros (~1000:1)', () => {
    const ratio = LIMITS.maxImageExpansionRatio;
    expect(() => checkExpansionRatio('d/x.png', 300 * MiB, 3 * MiB, ratio)).not.toThrow();
    expect(() => checkExpansionRatio('d/x.png', 300 * MiB, 300 * 1024, ratio)).toThrow(/d\/x\.png: .*\(over 200:1\)/);
  });
});
