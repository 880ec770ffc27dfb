export { MarginService, type StartRun, type StartedMargins, type MarginStartInput } from './service';
export { estimatorSpec, identityParams, marginSetKey } from './key';
