// The ES module entry: the same objects as the CommonJS entry (one addon,
// one set of classes, so `instanceof` agrees across both), as named exports.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const cjs = require('../dist/lib/index.js');

export const {
  info, getFloat32MatmulPrecision, setFloat32MatmulPrecision, Tensor, ops, DMDLKNet, readSafetensors, writeSafetensors, SegmentationDataset, permutation, loadFolders,
  loadISIC2018, isISIC2018, syntheticLesions, overlayPng, learningCurvesSvg, DmdlkError, InvalidArgumentError, ShapeError,
  DTypeError, DeviceError, IOError, FormatError, CheckpointError, GpuOutOfMemoryError, NonFiniteError, DataError, NoGpuError,
  CudaError, DisposedError, CancelledError, InternalError, OutOfMemoryError, UnsupportedError,
} = cjs;
export default cjs;
