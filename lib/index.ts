// dmdlk-native: DMDLK-Net skin-lesion segmentation in native C++/CUDA kernels.
export { info } from './info';
export type { Info } from './info';
export { getFloat32MatmulPrecision, setFloat32MatmulPrecision } from './precision';
export type { MatmulPrecision, Precision } from './precision';
export { Tensor } from './tensor';
export type { DType, TensorOptions, TypedArray } from './tensor';
export type { Device, DeviceChoice } from './device';
export * as ops from './ops';
export type { BinaryGradients, Conv2dGradients, Conv2dOptions, LinearGradients } from './ops';
export { DMDLKNet } from './model';
export type { BlockKind, LossAndGradients, ModelConfig, ModelSummary, ModuleCost, ResolvedModelConfig } from './model';
export { readSafetensors, writeSafetensors } from './safetensors';
export { SegmentationDataset, permutation } from './data/dataset';
export type { DataProblem, Sample } from './data/dataset';
export { loadFolders, loadISIC2018, isISIC2018 } from './data/load';
export type { ISICSplits, LoadOptions } from './data/load';
export type { AugmentOptions } from './data/augment';
export { syntheticLesions } from './data/synthetic';
export type { SyntheticOptions } from './data/synthetic';
export type { BestModelOptions, CheckpointOptions, EarlyStopOptions, EpochRecord, FitOptions, FitProgress, History, ValidationMetric } from './train/fit';
export type { ScheduleName, ScheduleOptions } from './train/schedule';
export type { LossName } from './validate';
export type { EvaluateOptions, Prediction, PredictOptions } from './train/evaluate';
export type { TestTimeAugmentation } from './train/flips';
export type { Confusion, ImageScores, Metrics, Scores } from './train/metrics';
export { overlayPng } from './viz/overlay';
export { learningCurvesSvg } from './viz/curves';
export type { SafetensorsFile } from './safetensors';
export type { OnnxExportOptions } from './onnx/export';
export {
  DmdlkError, InvalidArgumentError, ShapeError, DTypeError, DeviceError, IOError, FormatError,
  CheckpointError, GpuOutOfMemoryError, OutOfMemoryError, NonFiniteError, DataError, NoGpuError, CudaError, DisposedError, CancelledError, UnsupportedError, InternalError,
} from './errors';
export type { ErrorCodeName } from './errors';
