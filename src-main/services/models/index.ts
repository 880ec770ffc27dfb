export { ModelService, describeModel, imagesToTensor, type TrainRunForModel } from './service';
export { dropFinalSoftmax, fileSaveHandler, hashArtifacts, loadModelFromDir, readLayersArtifacts, resolveModelJson, writeLayersArtifacts, type LayersArtifacts } from './files';
