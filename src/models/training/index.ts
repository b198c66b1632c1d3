export { AdamW, type AdamWOptions } from "./adamw.js";
export { clipByGlobalNorm, globalNorm } from "./clip.js";
export { warmupCosine, type WarmupCosineOptions } from "./schedule.js";
export { trainLoop, trainStep, TrainingDiverged, type CurvePoint, type TrainLoopOptions, type TrainLoopResult } from "./loop.js";
