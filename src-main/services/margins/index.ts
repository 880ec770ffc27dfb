export { MarginService } from './service';
export { estimatorSpec } from './key';
