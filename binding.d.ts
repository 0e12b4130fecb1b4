// The exact shape of what the native addon (build/Release/dmdlk.node or a
// prebuild) exports. The TypeScript layer in lib/ validates arguments and
// wraps these; nothing else should call the addon directly.

export type NativeDType = 'float32' | 'float64' | 'uint8' | 'int32';
export type NativeTypedArray = Float32Array | Float64Array | Uint8Array | Int32Array;

export interface NativeGpuInfo {
  index: number;
  name: string;
  computeCapability: string;
  totalMemory: number;
  multiprocessors: number;
}

export interface NativeInfo {
  version: string;
  napiVersion: number;
  cpu: {
    threads: number;
    simd: 'avx2' | 'neon' | 'portable';
    features: { avx2: boolean; fma: boolean; avx512f: boolean; neon: boolean };
  };
  cuda: {
    compiled: boolean;
    available: boolean;
    reason?: string;
    architectures: string;
    runtimeVersion: number;
    driverVersion: number;
    devices: NativeGpuInfo[];
  };
}

export declare class NativeTensor {
  constructor(data: NativeTypedArray, shape: number[], device: string);
  readonly shape: number[];
  readonly dtype: NativeDType;
  readonly device: string;
  readonly disposed: boolean;
  toArray(): NativeTypedArray;
  data(): Promise<NativeTypedArray>;
  toDevice(device: string): Promise<NativeTensor>;
  dispose(): void;
}


export interface NativeModuleCost {
  module: string;
  parameters: number;
  macs: number;
  offsetMacs: number;
  activationBytes: number;
}

export declare class NativeModel {
  private constructor();
  /** The configuration as JSON. */
  readonly config: string;
  readonly device: string;
  /** The model's own float32 matmul precision (null: the process's); its calls run under the one set when they are made. */
  precision: NativeMatmulPrecision | null;
  forward(images: NativeTensor): Promise<NativeTensor>;
  lossAndGradients(
    images: NativeTensor, masks: NativeTensor, returnLogits: boolean, loss: 'ce' | 'ce+dice',
  ): Promise<{ loss: number; gradients: [string, NativeTensor][]; logits?: NativeTensor }>;
  trainStep(images: NativeTensor, masks: NativeTensor, lr: number, loss: 'ce' | 'ce+dice'): Promise<{ loss: number; step: number }>;
  /** images uint8 [B, S, S, C], masks uint8 [B, S, S]; prepared and augmented on the model's device. */
  trainBatch(
    images: NativeTensor, masks: NativeTensor, augmentJson: string | null, seed: number, lr: number, loss: 'ce' | 'ce+dice',
    optimizer: 'adam' | 'adamw', weightDecay: number, clipGradNorm: number,
  ): Promise<{ loss: number; step: number; gradNorm?: number }>;
  /** images uint8 [B, S, S, C] -> logits [B, classes, S, S] on the CPU. */
  predictBatch(images: NativeTensor): Promise<NativeTensor>;
  optimizerState(): Promise<{ step: number; tensors: [string, NativeTensor][] }>;
  setOptimizerState(step: number, tensors: [string, NativeTensor][]): Promise<void>;
  state(): Promise<[string, NativeTensor][]>;
  setState(tensors: [string, NativeTensor][]): Promise<void>;
  save(path: string, metadata: Record<string, string>): Promise<void>;
  summary(): Promise<NativeModuleCost[]>;
  dispose(): void;
}

export type NativeMatmulPrecision = 'highest' | 'high' | 'medium';

export interface NativeBinding {
  info(): NativeInfo;
  matmulPrecision(): NativeMatmulPrecision;
  setMatmulPrecision(precision: NativeMatmulPrecision): void;
  NativeTensor: typeof NativeTensor;
  add(a: NativeTensor, b: NativeTensor): Promise<NativeTensor>;
  mul(a: NativeTensor, b: NativeTensor): Promise<NativeTensor>;
  addBackward(dy: NativeTensor, a: NativeTensor, b: NativeTensor): Promise<{ da: NativeTensor; db: NativeTensor }>;
  mulBackward(dy: NativeTensor, a: NativeTensor, b: NativeTensor): Promise<{ da: NativeTensor; db: NativeTensor }>;
  matmul(a: NativeTensor, b: NativeTensor): Promise<NativeTensor>;
  matmulBackward(dy: NativeTensor, a: NativeTensor, b: NativeTensor): Promise<{ da: NativeTensor; db: NativeTensor }>;
  linear(x: NativeTensor, weight: NativeTensor, bias: NativeTensor | null): Promise<NativeTensor>;
  linearBackward(
    dy: NativeTensor, x: NativeTensor, weight: NativeTensor, hasBias: boolean,
  ): Promise<{ dx: NativeTensor; dweight: NativeTensor; dbias?: NativeTensor }>;
  /**
   * optionsJson: conv2d's attributes as JSON, read by their declaration (native/cpp/ops/attr_schema.h);
   * its 'residual' is true exactly where a residual tensor is given.
   */
  conv2d(
    x: NativeTensor, weight: NativeTensor, bias: NativeTensor | null, optionsJson: string, residual: NativeTensor | null,
  ): Promise<NativeTensor>;
  conv2dBackward(
    dy: NativeTensor, x: NativeTensor, weight: NativeTensor, hasBias: boolean, optionsJson: string,
  ): Promise<{ dx: NativeTensor; dweight: NativeTensor; dbias?: NativeTensor }>;
  /** Every op's attributes as JSON (native/cpp/ops/attr_schema.h; scripts/generate-schemas.cjs reads it). */
  opSchema(): string;
  createModel(configJson: string, device: string, seed: number): Promise<NativeModel>;
  loadModel(path: string, device: string, configJson: string | null): Promise<NativeModel>;
  /** The model configuration's fields as JSON (native/cpp/nn/config_schema.h; scripts/generate-schemas.cjs reads it). */
  configSchema(): string;
  /** The evaluation graph of a configuration at a batch size, as JSON (native/cpp/nn/network_json.h). */
  inferenceGraph(configJson: string, batch: number): string;
  NativeModel: typeof NativeModel;
  prepareBatch(
    images: NativeTensor, masks: NativeTensor | null, augmentJson: string | null, seed: number,
  ): Promise<{ images: NativeTensor; masks: NativeTensor | null }>;
  augmentStored(
    images: NativeTensor, masks: NativeTensor, augmentJson: string, seed: number,
  ): Promise<{ images: NativeTensor; masks: NativeTensor }>;
  resizeBilinear(x: NativeTensor, height: number, width: number): Promise<NativeTensor>;
  readSafetensors(path: string): Promise<{ tensors: [string, NativeTensor][]; metadata: Record<string, string> }>;
  writeSafetensors(path: string, tensors: [string, NativeTensor][], metadata: Record<string, string>): Promise<void>;
}
