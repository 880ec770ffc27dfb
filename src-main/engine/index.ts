// Public API of the compute engine (no Electron imports: used by the CLI, workers and the app).
import { resolveBackend, type BackendInfo } from './backend';
import { installFastGradients } from './fast-gradients';

export { type BackendInfo } from './backend';
export { createModel } from './models';

/** Resolves and sets the backend; on wasm also installs the fast backward kernels. */
export async function initEngine(preferred?: string): Promise<BackendInfo> {
  const info = await resolveBackend(preferred);
  if (info.backend === 'wasm') {
    installFastGradients();
    info.notes.push('fast wasm backward kernels installed (Conv2DBackpropInput/Filter, BatchMatMul, Sum, Mean, MaxPoolGrad, Identity, ReLU gradient)');
  }
  return info;
}
