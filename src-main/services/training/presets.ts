/** The named training presets (resources/presets/<name>.json). */
import fs from 'node:fs';
import path from 'node:path';
import { PRESET_NAMES, parseTrainConfig, type PresetName, type TrainConfig } from '../../../src-shared/domain/training';
import { APP_ROOT } from '../system';

export const PRESET_DESCRIPTIONS: Record<PresetName, string> = {
  laptop: 'Fashion-MNIST, cnn-small, TRADES ε = 0.1: finishes within 10 minutes on a 2-core CPU',
  paper: 'Paper recipe (GPU): CIFAR-10 + 1M generated, ResNet-18, TRADES β = 5, ε = 8/255, 400 epochs, PUMA 20 %',
};

export function presetFile(name: string, root = APP_ROOT): string {
  return path.join(root, 'resources', 'presets', `${name}.json`);
}

/** The preset's raw JSON (as written in the file, e.g. "8/255" kept as text). */
export function readPresetRaw(name: string, root = APP_ROOT): Record<string, unknown> {
  if (!(PRESET_NAMES as readonly string[]).includes(name)) {
    throw new Error(`Unknown preset '${name}'; known presets: ${PRESET_NAMES.join(', ')}`);
  }
  const file = presetFile(name, root);
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: cannot read the preset (${(e as Error).message})`, { cause: e });
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new Error(`${file}: a preset must be a JSON object`);
  return raw as Record<string, unknown>;
}

export function loadPreset(name: string, root = APP_ROOT): TrainConfig {
  return parseTrainConfig(readPresetRaw(name, root), presetFile(name, root));
}

export function listPresets(root = APP_ROOT): Array<{ name: PresetName; description: string; config: Record<string, unknown> }> {
  return PRESET_NAMES.map((name) => ({ name, description: PRESET_DESCRIPTIONS[name], config: readPresetRaw(name, root) }));
}
