import { describe, expect, it } from 'vitest';
import { formatDuration } from '../../../src-shared/domain/duration';

describe('formatDuration', () => {
  it('reads as people read durations, at each scale', () => {
    expect(formatDuration(44.6)).toBe('45 s');
    expect(formatDuration(185)).toBe('3 min 05 s');
    expect(formatDuration(4320)).toBe('1 h 12 min');
  });
  it('has no reading for unknown or impossible values', () => {
    for (const v of [null, undefined, Number.NaN, Infinity, -1]) expect(formatDuration(v)).toBe('–');
  });
});
