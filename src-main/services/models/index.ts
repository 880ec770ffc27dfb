export { ModelService } from './service';
export { fileSaveHandler, loadModelFromDir } from './files';
