/**
 * The compute backends, in the order the ladder tries them (src-main/engine/backend.ts sets them
 * up; src-main/services/system.ts plans one without loading TensorFlow.js).
 */
export const BACKEND_CHOICES = ['node-gpu', 'node', 'wasm', 'cpu'] as const;
export type BackendChoice = (typeof BACKEND_CHOICES)[number];

/** Every spelling a user may give (CLI --backend, PUMA_BACKEND), lower case, to its choice. */
export const BACKEND_ALIASES: Readonly<Record<string, BackendChoice>> = {
  'node-gpu': 'node-gpu',
  'tfjs-node-gpu': 'node-gpu',
  gpu: 'node-gpu',
  node: 'node',
  'tfjs-node': 'node',
  tensorflow: 'node',
  wasm: 'wasm',
  cpu: 'cpu',
};
