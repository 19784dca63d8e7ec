/**
 * esmm-ts: the Entire Space Multi-Task Model (Ma et al., SIGIR 2018) for pCTR / pCVR / pCTCVR,
 * from raw Ali-CCP logs to a saved model. This is the hand-picked public API; the CLI (`esmm`)
 * is a thin layer over it.
 */
export { prepareSplit, openPreparedSplit } from './data/cache/prepare.js';
export type { PrepareOptions, PreparedSplit } from './data/cache/prepare.js';
export { DataError } from './data/types.js';
export type { InputReport, InputProblemKind, SampleBlock, GroupTable } from './data/types.js';
export type { SampleSource } from './data/sample-source.js';
export { generateDataset } from './simulate/generate.js';
export { defaultSpec, loadSpec, parseSpec, specForFields, inputWidth } from './features/spec.js';
export type { FeatureSpec, FieldSpec, TableSpec, Pooling } from './features/spec-types.js';
export { CvrModel } from './models/cvr-model.js';
export type { ModelConfig, Predictions } from './models/cvr-model.js';
export type { ModelKind } from './models/registry.js';
export { MODELS, MODEL_KINDS, modelDef } from './models/registry.js';
export { defineModel } from './models/definition.js';
export type { ModelDef, ComponentDef, DenseArch, Sampling, SampleFilter } from './models/definition.js';
export { trainModel } from './train/trainer.js';
export type { TrainConfig, TrainResult } from './train/trainer.js';
export { evaluateModel } from './train/evaluate.js';
export type { EvalResult } from './train/evaluate.js';
export { predictAll } from './train/predict-all.js';
export { computeAuc } from './metrics/auc.js';
export { computeLogLoss } from './metrics/logloss.js';
export { BinaryTaskMetrics } from './metrics/binary-task.js';
export { saveModel, loadModel } from './persist/model-dir.js';
export { Predictor, loadPredictor } from './serve/predictor.js';
export type { PredictorOptions, InstancePrediction } from './serve/predictor.js';
export { InstanceError, DEFAULT_LIMITS } from './serve/instances.js';
export type { Instance, FeatureEntry, FeatureId, InstanceLimits } from './serve/instances.js';
export type { BatchingOptions } from './serve/batch-queue.js';
export { startServing } from './serve/serve.js';
export type { ServeOptions, Service } from './serve/serve.js';
export { exportOnnx, onnxFeeds, fieldInputs } from './persist/onnx-export.js';
export type { OnnxFeed } from './persist/onnx-export.js';
export { exportOnnxChecked } from './serve/export-check.js';
export type { ExportCheck } from './serve/export-check.js';
