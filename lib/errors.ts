// Every error dmdlk-native raises is a DmdlkError with a stable `code`; each
// code has its own subclass so callers can use `instanceof` or `code`.

export type ErrorCodeName =
  | 'ERR_INVALID_ARG' | 'ERR_SHAPE' | 'ERR_DTYPE' | 'ERR_DEVICE' | 'ERR_IO' | 'ERR_FORMAT' | 'ERR_CHECKPOINT'
  | 'ERR_GPU_OOM' | 'ERR_OOM' | 'ERR_NO_GPU' | 'ERR_CUDA' | 'ERR_DISPOSED' | 'ERR_CANCELLED' | 'ERR_NAN' | 'ERR_DATA'
  | 'ERR_UNSUPPORTED' | 'ERR_INTERNAL';

export class DmdlkError extends Error {
  readonly code: ErrorCodeName;
  constructor(code: ErrorCodeName, message: string) {
    super(message);
    this.code = code;
    this.name = new.target.name;
  }
}

export class InvalidArgumentError extends DmdlkError {
  constructor(message: string) { super('ERR_INVALID_ARG', message); }
}
export class ShapeError extends DmdlkError {
  constructor(message: string) { super('ERR_SHAPE', message); }
}
export class DTypeError extends DmdlkError {
  constructor(message: string) { super('ERR_DTYPE', message); }
}
export class DeviceError extends DmdlkError {
  constructor(message: string) { super('ERR_DEVICE', message); }
}
export class IOError extends DmdlkError {
  constructor(message: string) { super('ERR_IO', message); }
}
export class FormatError extends DmdlkError {
  constructor(message: string) { super('ERR_FORMAT', message); }
}
export class CheckpointError extends DmdlkError {
  constructor(message: string) { super('ERR_CHECKPOINT', message); }
}
export class GpuOutOfMemoryError extends DmdlkError {
  constructor(message: string) { super('ERR_GPU_OOM', message); }
}
/** The host ran out of memory (a batch or an image too large for this machine's RAM). */
export class OutOfMemoryError extends DmdlkError {
  constructor(message: string) { super('ERR_OOM', message); }
}
export class NoGpuError extends DmdlkError {
  constructor(message: string) { super('ERR_NO_GPU', message); }
}
export class CudaError extends DmdlkError {
  constructor(message: string) { super('ERR_CUDA', message); }
}
export class DisposedError extends DmdlkError {
  constructor(message: string) { super('ERR_DISPOSED', message); }
}
export class CancelledError extends DmdlkError {
  constructor(message: string) { super('ERR_CANCELLED', message); }
}
/** A loss or gradient became NaN or infinite; the weights were kept as before that step. */
export class NonFiniteError extends DmdlkError {
  constructor(message: string) { super('ERR_NAN', message); }
}
/** A dataset problem (missing or extra mask, unreadable file, size mismatch); names the file. */
export class DataError extends DmdlkError {
  readonly file: string;
  /** What is wrong, without the advice the message adds. */
  readonly problem: string;
  /** Whether `onError: 'skip'` would have left this file out (the message then says so). */
  readonly skippable: boolean;
  constructor(problem: string, file = '', skippable = false) {
    super('ERR_DATA', skippable ? `${problem} (pass onError: 'skip' to leave such files out)` : problem);
    this.file = file;
    this.problem = problem;
    this.skippable = skippable;
  }
}
/** What this version cannot do with a valid request, such as an op with no ONNX form at the asked opset. */
export class UnsupportedError extends DmdlkError {
  constructor(message: string) { super('ERR_UNSUPPORTED', message); }
}
export class InternalError extends DmdlkError {
  constructor(message: string) { super('ERR_INTERNAL', message); }
}

const byCode: Record<ErrorCodeName, new (message: string) => DmdlkError> = {
  ERR_INVALID_ARG: InvalidArgumentError,
  ERR_SHAPE: ShapeError,
  ERR_DTYPE: DTypeError,
  ERR_DEVICE: DeviceError,
  ERR_IO: IOError,
  ERR_FORMAT: FormatError,
  ERR_CHECKPOINT: CheckpointError,
  ERR_GPU_OOM: GpuOutOfMemoryError,
  ERR_OOM: OutOfMemoryError,
  ERR_NO_GPU: NoGpuError,
  ERR_CUDA: CudaError,
  ERR_DISPOSED: DisposedError,
  ERR_CANCELLED: CancelledError,
  ERR_NAN: NonFiniteError,
  ERR_DATA: DataError,
  ERR_UNSUPPORTED: UnsupportedError,
  ERR_INTERNAL: InternalError,
};

/** The DmdlkError subclass for an error raised by the addon (which carries `code`). */
export function fromNative(error: unknown): Error {
  if (error instanceof DmdlkError) return error;
  // Duck-typed: errors made by the addon belong to the realm that loaded it,
  // which is not the caller's under vm contexts (jest) or in Electron.
  if (typeof error === 'object' && error !== null && typeof (error as Error).message === 'string') {
    const { code, message, name } = error as { code?: unknown; message: string; name?: unknown };
    if (typeof code === 'string' && code in byCode) return new byCode[code as ErrorCodeName](message);
    // V8's answer when a typed array for a tensor's data cannot be allocated.
    if (name === 'RangeError' && /allocation failed/i.test(message)) return new OutOfMemoryError(`out of host memory: ${message}`);
    return error instanceof Error ? error : new InternalError(message);
  }
  return new InternalError(String(error));
}

/** Runs a native call, turning what it throws or rejects with into DmdlkErrors. */
export async function native<T>(call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw fromNative(error);
  }
}

/** The synchronous form of `native`. */
export function nativeSync<T>(call: () => T): T {
  try {
    return call();
  } catch (error) {
    throw fromNative(error);
  }
}
