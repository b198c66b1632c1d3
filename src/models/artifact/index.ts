/**
 * The service's model format and its loader: format.ts (the files, light), save.ts (a trained model → files),
 * load.ts (`loadModel`: files → a model that generates, samples and scores). README, "The winner: retrain, download, use".
 */
export * from "./format.js";
export { flowFiles, modelArtifacts, transformerFiles, type ModelInfo } from "./save.js";
export { loadModel, readModelFiles, type LoadedFlow, type LoadedModel, type LoadedTransformer } from "./load.js";
