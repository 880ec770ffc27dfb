import { describe, it, expect } from 'vitest';
import { benchCommand } from '../../../src-main/cli/commands/bench';
import { CliError } from '../../../src-main/cli/args';
import { runEngineBench } from '../../../src-main/engine/benchmark';

describe('puma bench argument checks', () => {
  it('rejects unknown models, bad worker counts and unknown flags with a clear error', async () => {
    await expect(benchCommand(['--models', 'cnn-small,vgg'])).rejects.toThrow(CliError);
    await expect(benchCommand(['--models', 'cnn-small,vgg'])).rejects.toThrow(/--models expects .*cnn-small, resnet18/);
    await expect(benchCommand(['--workers', '0'])).rejects.toThrow(/--workers expects a positive integer/);
    await expect(benchCommand(['--frobnicate'])).rejects.toThrow(CliError);
    await expect(runEngineBench({ models: ['vgg'] })).rejects.toThrow(/benchmark\.ts: unknown benchmark model 'vgg'/);
  });
});
