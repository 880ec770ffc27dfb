export { ModelService, describeModel, imagesToTensor } from './service';
export { dropFinalSoftmax, fileSaveHandler, hashArtifacts, loadModelFromDir, readLayersArtifacts, resolveModelJson, writeLayersArtifacts, type LayersArtifacts } from './files';
