// Public API of the compute engine (no Electron imports: used by the CLI, workers and the app).
import { resolveBackend, type BackendInfo } from './backend';
import { installFastGradients } from './fast-gradients';

export { resolveBackend, parseBackendChoice, BACKEND_CHOICES, type BackendInfo, type BackendChoice } from './backend';
export { installFastGradients, uninstallFastGradients, fastGradientsInstalled } from './fast-gradients';
export { createModel, ARCHITECTURES, NormalizeLayer, type Architecture, type CreateModelOptions } from './models';

/** Resolves and sets the backend; on wasm also installs the fast backward kernels. */
export async function initEngine(preferred?: string): Promise<BackendInfo> {
  const info = await resolveBackend(preferred);
  if (info.backend === 'wasm') {
    installFastGradients();
    info.notes.push('fast wasm backward kernels installed (Conv2DBackpropInput/Filter, BatchMatMul, Sum, Mean, MaxPoolGrad, Identity, ReLU gradient)');
  }
  return info;
}
