// dmdlk-native: DMDLK-Net skin-lesion segmentation in native C++/CUDA kernels.
export { info } from './info';
export type { Info } from './info';
export { Tensor } from './tensor';
export type { DType, Device, TensorOptions, TypedArray } from './tensor';
export * as ops from './ops';
export type { BinaryGradients, Conv2dGradients, Conv2dOptions, LinearGradients } from './ops';
export { DMDLKNet } from './model';
export type { BlockKind, LossAndGradients, ModelConfig, ModelSummary, ModuleCost, ResolvedModelConfig } from './model';
export { readSafetensors, writeSafetensors } from './safetensors';
export type { SafetensorsFile } from './safetensors';
export {
  DmdlkError, InvalidArgumentError, ShapeError, DTypeError, DeviceError, IOError, FormatError,
  CheckpointError, GpuOutOfMemoryError, NoGpuError, CudaError, DisposedError, CancelledError, InternalError,
} from './errors';
export type { ErrorCodeName } from './errors';
