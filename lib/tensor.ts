// The public Tensor: a handle on native memory (CPU or GPU), immutable once
// made. Memory is freed by dispose() or, failing that, by garbage collection.
import type { NativeTensor, NativeTypedArray } from '../binding';
import { binding } from './binding';
import { chooseDevice, type Device, type DeviceChoice } from './device';
import { DisposedError, InternalError, InvalidArgumentError, ShapeError, nativeSync, native } from './errors';
import * as check from './validate';

export type DType = 'float32' | 'float64' | 'uint8' | 'int32';
export type TypedArray = NativeTypedArray;

export interface TensorOptions {
  /** Element type for a plain array (default float32); a typed array fixes its own. */
  dtype?: DType | undefined;
  /** Where the tensor lives (default 'cpu'; 'auto': the GPU where one is usable). */
  device?: DeviceChoice | undefined;
}

const arrayTypes: Record<DType, new (values: ArrayLike<number> | number) => TypedArray> = {
  float32: Float32Array,
  float64: Float64Array,
  uint8: Uint8Array,
  int32: Int32Array,
};

const dtypeByTag: Record<string, DType> = {
  '[object Float32Array]': 'float32', '[object Float64Array]': 'float64', '[object Uint8Array]': 'uint8', '[object Int32Array]': 'int32',
};

// By the built-in tag, not instanceof: arrays from another realm (a vm
// context, jest, the addon's toArray() there) are typed arrays too.
function dtypeOfArray(data: unknown): DType | undefined {
  return ArrayBuffer.isView(data) ? dtypeByTag[Object.prototype.toString.call(data)] : undefined;
}

const natives = new WeakMap<Tensor, NativeTensor>();

// Every Tensor registers its handle in its constructor.
function nativeHandle(t: Tensor): NativeTensor {
  const handle = natives.get(t);
  if (handle === undefined) throw new InternalError('a Tensor without a native handle');
  return handle;
}

export class Tensor {
  private constructor(handle: NativeTensor) {
    natives.set(this, handle);
  }

  /**
   * A tensor holding a copy of `data` with the given shape (row-major, NCHW
   * for images). `data` is a Float32Array, Float64Array, Uint8Array or
   * Int32Array, or a plain array of numbers converted to `options.dtype`.
   */
  static from(data: TypedArray | readonly number[], shape: readonly number[], options?: TensorOptions): Tensor {
    const opts = check.options(options, 'options');
    check.knownKeys(opts, ['dtype', 'device'], 'options');
    const dims = check.shape(shape, 'shape');
    const device = chooseDevice(opts.device ?? 'cpu', 'options.device');
    let array: TypedArray;
    const own = dtypeOfArray(data);
    if (own !== undefined) {
      if (opts.dtype !== undefined && opts.dtype !== own) {
        throw new InvalidArgumentError(`options.dtype is '${String(opts.dtype)}' but data is a ${own} array`);
      }
      array = data as TypedArray;
    } else if (Array.isArray(data)) {
      const dtype = (opts.dtype ?? 'float32') as DType;
      if (!(dtype in arrayTypes)) {
        throw new InvalidArgumentError(`options.dtype must be one of ${Object.keys(arrayTypes).join(', ')}, got ${check.describe(dtype)}`);
      }
      data.forEach((v, i) => {
        if (typeof v !== 'number') throw new InvalidArgumentError(`data[${i}] must be a number, got ${check.describe(v)}`);
      });
      array = new arrayTypes[dtype](data);
    } else {
      throw new InvalidArgumentError(
        `data must be a Float32Array, Float64Array, Uint8Array, Int32Array or an array of numbers, got ${check.describe(data)}`);
    }
    return new Tensor(nativeSync(() => new binding.NativeTensor(array, dims, device)));
  }

  /** A tensor of zeros. */
  static zeros(shape: readonly number[], options?: TensorOptions): Tensor {
    const dims = check.shape(shape, 'shape');
    const dtype = check.options(options, 'options').dtype ?? 'float32';
    if (!(typeof dtype === 'string' && dtype in arrayTypes)) {
      throw new InvalidArgumentError(`options.dtype must be one of ${Object.keys(arrayTypes).join(', ')}, got ${check.describe(dtype)}`);
    }
    const count = dims.reduce((a, b) => a * b, 1);
    // JavaScript's typed arrays stop at 2^32 elements: say so, as the native side would.
    if (count > 2 ** 32) throw new ShapeError(`shape [${dims.join(', ')}] has too many elements (${count}) for one tensor`);
    const data = nativeSync(() => new arrayTypes[dtype as DType](count));  // a RangeError when memory runs out: OutOfMemoryError
    return Tensor.from(data, dims, { device: options?.device });
  }

  get shape(): number[] { return nativeSync(() => this.handle('read shape').shape); }
  get dtype(): DType { return nativeSync(() => this.handle('read dtype').dtype); }
  get device(): Device { return nativeSync(() => this.handle('read device').device as Device); }
  /** Number of elements. */
  get size(): number { return this.shape.reduce((a, b) => a * b, 1); }
  get disposed(): boolean { return nativeHandle(this).disposed; }

  /** A copy of the elements. Synchronous: on a GPU it waits for pending work; prefer data() there. */
  toArray(): TypedArray { return nativeSync(() => this.handle('read data').toArray()); }

  /** A copy of the elements, made off the event loop. */
  data(): Promise<TypedArray> { return native(async () => this.handle('read data').data()); }

  /** A copy of this tensor on `device` (this tensor itself if it is already there). */
  async toDevice(device: DeviceChoice): Promise<Tensor> {
    const target = chooseDevice(device, 'device');
    return new Tensor(await native(async () => this.handle('move').toDevice(target)));
  }

  /** Frees the memory now; any later use throws DisposedError. Safe to call twice. */
  dispose(): void { nativeHandle(this).dispose(); }

  toString(): string {
    return this.disposed ? 'Tensor(disposed)' : `Tensor(${this.dtype} [${this.shape.join(', ')}] on ${this.device})`;
  }

  private handle(what: string): NativeTensor {
    const handle = nativeHandle(this);
    if (handle.disposed) throw new DisposedError(`cannot ${what}: the tensor was disposed`);
    return handle;
  }

  /** @internal The native handle behind `value`, checked to be a live Tensor named `name`. */
  static nativeOf(value: unknown, name: string): NativeTensor {
    if (!(value instanceof Tensor)) throw new InvalidArgumentError(`${name} must be a Tensor, got ${check.describe(value)}`);
    const handle = nativeHandle(value);
    if (handle.disposed) throw new DisposedError(`${name} was disposed`);
    return handle;
  }

  /** @internal Wraps a handle the addon returned. */
  static wrap(handle: NativeTensor): Tensor {
    return new Tensor(handle);
  }
}
