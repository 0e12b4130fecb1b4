// DMDLK-Net from TypeScript: create or load a model, run it, get the loss and
// every gradient, read and set its parameters, save it. Every call runs on
// the model's own native thread, in the order it was made.
import type { NativeModel, NativeTensor } from '../binding';
import { binding } from './binding';
import { checkConfig, type ModelConfig, type ResolvedModelConfig } from './config';
import { DisposedError, InvalidArgumentError, native } from './errors';
import { chooseDevice, type Device, type DeviceChoice } from './device';
import { Tensor } from './tensor';
import * as check from './validate';
import type { LossName } from './validate';
import type { SegmentationDataset } from './data/dataset';
import { type EvaluateOptions, evaluateNative, type Prediction, type PredictOptions, predictBatch, predictImage } from './train/evaluate';
import { fit, type FitOptions, type History } from './train/fit';
import { exportOnnx, type OnnxExportOptions } from './onnx/export';
import type { Metrics } from './train/metrics';
import { MATMUL_PRECISION, type Precision } from './precision';
import { DEFAULT_LEARNING_RATE } from './train/optimizer';

export type { BlockKind, ModelConfig, ResolvedModelConfig } from './config';


export interface ModuleCost {
  module: string;
  parameters: number;
  /** Multiply-accumulates of one forward pass per image. */
  macs: number;
  /** Of which in DDLK's offset convolutions. */
  offsetMacs: number;
  /** Bytes a training step keeps per image, before memory planning. */
  activationBytes: number;
}

export interface ModelSummary {
  modules: ModuleCost[];
  total: Omit<ModuleCost, 'module'>;
}

export interface LossAndGradients {
  /** Mean softmax cross-entropy over every pixel. */
  loss: number;
  /** Every trained parameter's gradient, by checkpoint name. */
  gradients: Map<string, Tensor>;
  logits?: Tensor;
}

function configJson(config: unknown): string {
  return JSON.stringify(checkConfig(config));  // and natively again, with the rules between fields
}

const PRECISIONS = Object.keys(MATMUL_PRECISION) as Precision[];
let warnedCpuPrecision = false;

function checkPrecision(value: unknown, name: string): Precision {
  if (typeof value !== 'string' || !PRECISIONS.includes(value as Precision))
    throw new InvalidArgumentError(`${name} must be one of ${PRECISIONS.join(', ')}, got ${check.describe(value)}`);
  return value as Precision;
}

function toMap(pairs: [string, NativeTensor][]): Map<string, Tensor> {
  return new Map(pairs.map(([name, handle]) => [name, Tensor.wrap(handle)]));
}

export class DMDLKNet {
  private nativeModel: NativeModel | null;
  private configText: string | undefined;

  private constructor(handle: NativeModel) {
    this.nativeModel = handle;
  }

  /**
   * A new model, initialised as PyTorch would (reproducible with `seed`), on
   * `options.device`: by default 'auto', the GPU where CUDA is usable and the
   * CPU otherwise (`model.device` says which).
   */
  static create(config: ModelConfig = {},
    options: { device?: DeviceChoice | undefined; seed?: number | undefined; precision?: Precision | undefined } = {}): Promise<DMDLKNet> {
    return native(async () => {
      const o = check.options(options, 'options');
      check.knownKeys(o, ['device', 'seed', 'precision'], 'options');
      const device = chooseDevice(o.device ?? 'auto', 'options.device');
      const seed = check.integer(o.seed ?? 0, 'options.seed', 0, 2 ** 52);
      const precision = o.precision === undefined ? null : checkPrecision(o.precision, 'options.precision');
      return new DMDLKNet(await binding.createModel(configJson(config), device, seed)).withPrecision(precision);
    });
  }

  /**
   * A checkpoint saved by `save()`, or a PyTorch state_dict of the reference
   * model written as safetensors (then pass its `config` unless the file's
   * metadata holds one). The device defaults to 'auto', as for create().
   */
  static load(path: string,
    options: { device?: DeviceChoice | undefined; config?: ModelConfig | undefined; precision?: Precision | undefined } = {}): Promise<DMDLKNet> {
    return native(async () => {
      const o = check.options(options, 'options');
      check.knownKeys(o, ['device', 'config', 'precision'], 'options');
      const device = chooseDevice(o.device ?? 'auto', 'options.device');
      const config = o.config === undefined ? null : configJson(o.config);
      const precision = o.precision === undefined ? null : checkPrecision(o.precision, 'options.precision');
      return new DMDLKNet(await binding.loadModel(check.string(path, 'path'), device, config)).withPrecision(precision);
    });
  }

  /** The configuration with every field filled in: a fresh copy each time (the native text is read once). */
  get config(): ResolvedModelConfig {
    this.configText ??= this.handle().config;
    return JSON.parse(this.configText) as ResolvedModelConfig;
  }
  /** Where the model computes: 'cpu' or 'cuda:N' (what 'auto' chose). */
  get device(): Device { return this.handle().device as Device; }
  get disposed(): boolean { return this.nativeModel === null; }

  /**
   * The float32 matrix precision of this model's work on a GPU: 'fp32', 'tf32'
   * or 'bf16' (PyTorch's highest, high, medium), or null to follow the
   * process's (setFloat32MatmulPrecision; 'tf32' by default). Calls made after
   * it is set use it, whatever other models use. On the CPU, which always
   * computes in float32, setting one changes nothing and says so once (a
   * process warning, code DMDLK_PRECISION_CPU).
   */
  get precision(): Precision | null {
    const p = this.handle().precision;
    return p === null ? null : PRECISIONS.find((name) => MATMUL_PRECISION[name] === p) ?? null;
  }

  set precision(precision: Precision | null) {
    this.withPrecision(precision === null ? null : checkPrecision(precision, 'precision'));
  }

  private withPrecision(precision: Precision | null): this {
    if (precision !== null && this.device === 'cpu' && !warnedCpuPrecision) {
      warnedCpuPrecision = true;
      process.emitWarning(`precision '${precision}' is ignored on the CPU, which computes in float32`, { code: 'DMDLK_PRECISION_CPU' });
    }
    this.handle().precision = precision === null ? null : MATMUL_PRECISION[precision];
    return this;
  }

  /**
   * Logits [B, numClasses, S, S] in evaluation mode, for images [B, inChannels, S, S]
   * float32 scaled as fit and predict scale pixels: 2·v/255 − 1, in [−1, 1].
   */
  forward(images: Tensor): Promise<Tensor> {
    return native(async () => Tensor.wrap(await this.handle().forward(Tensor.nativeOf(images, 'images'))));
  }

  /**
   * One training-mode pass (BatchNorm on batch statistics, its running
   * statistics updated): masks [B, S, S] int32 hold class indices. `loss`
   * as fit's: 'ce' (the paper's, default) or 'ce+dice'.
   */
  lossAndGradients(images: Tensor, masks: Tensor,
    options: { returnLogits?: boolean | undefined; loss?: LossName | undefined } = {}): Promise<LossAndGradients> {
    return native(async () => {
      const o = check.options(options, 'options');
      check.knownKeys(o, ['returnLogits', 'loss'], 'options');
      const returnLogits = check.boolean(o.returnLogits ?? false, 'options.returnLogits');
      const loss = check.lossName(o.loss ?? 'ce', 'options.loss');
      const out = await this.handle().lossAndGradients(
        Tensor.nativeOf(images, 'images'), Tensor.nativeOf(masks, 'masks'), returnLogits, loss);
      return { loss: out.loss, gradients: toMap(out.gradients), ...(out.logits ? { logits: Tensor.wrap(out.logits) } : {}) };
    });
  }

  /**
   * One training step with Adam (the paper's optimiser: β 0.9/0.999, eps 1e-8;
   * `lr` defaults to the paper's 1e-4): forward, backward and the update of
   * every parameter, in place. Returns the loss before the update and the
   * step count. The moments live with the model and persist across calls.
   */
  trainStep(images: Tensor, masks: Tensor,
    options: { lr?: number | undefined; loss?: LossName | undefined } = {}): Promise<{ loss: number; step: number }> {
    return native(async () => {
      const o = check.options(options, 'options');
      check.knownKeys(o, ['lr', 'loss'], 'options');
      const lr = check.learningRate(o.lr ?? DEFAULT_LEARNING_RATE, 'options.lr');
      const loss = check.lossName(o.loss ?? 'ce', 'options.loss');
      return this.handle().trainStep(Tensor.nativeOf(images, 'images'), Tensor.nativeOf(masks, 'masks'), lr, loss);
    });
  }

  /**
   * Trains on `train` with the paper's recipe by default (Adam, lr 1e-4,
   * batch 4, softmax cross-entropy, 200 epochs): progress per step, metrics
   * on `validation` per epoch, checkpoints that `resume` continues exactly,
   * and a stop between steps on `signal`. A NaN or infinite loss or gradient
   * rejects with NonFiniteError (ERR_NAN) and leaves the weights and the
   * checkpoints as they were before that step.
   */
  fit(train: SegmentationDataset, options: FitOptions = {}): Promise<History> {
    return native(async () => fit(this.rgbModel('fit'), this.config.inputSize, train, options));
  }

  /** IoU, Dice, pixel accuracy, sensitivity and specificity, pooled and per image, at the dataset's input size. */
  evaluate(data: SegmentationDataset, options: EvaluateOptions = {}): Promise<Metrics> {
    return native(async () => evaluateNative(this.rgbModel('evaluate'), this.config.inputSize, data, options));
  }

  /**
   * Segments an image file or encoded image Buffer (mask at its original
   * size), or a batch of uint8 images [B, S, S, 3] (masks [B, S, S]).
   */
  predict(input: string | Buffer, options?: PredictOptions): Promise<Prediction>;
  predict(input: Tensor, options?: PredictOptions): Promise<{ masks: Tensor; probabilities?: Tensor }>;
  predict(input: string | Buffer | Tensor, options: PredictOptions = {}): Promise<Prediction | { masks: Tensor; probabilities?: Tensor }> {
    return native(async () => {
      if (input instanceof Tensor) return predictBatch(this.rgbModel('predict'), this.config.inputSize, input, options);
      if (typeof input === 'string' || Buffer.isBuffer(input)) return predictImage(this.rgbModel('predict'), this.config.inputSize, input, options);
      throw new InvalidArgumentError(`input must be a file path, a Buffer or a Tensor, got ${check.describe(input)}`);
    });
  }

  /**
   * The handle, for the calls that read images as datasets and files hold
   * them: RGB, 3 channels. A model of other inChannels is trained and run on
   * tensors (trainStep, forward), and these calls say so.
   */
  private rgbModel(call: string): NativeModel {
    const handle = this.handle();
    const { inChannels } = this.config;
    if (inChannels !== 3) {
      throw new InvalidArgumentError(`${call} reads RGB images (3 channels) and this model takes ${inChannels}: ` +
        'give it [B, inChannels, S, S] tensors through trainStep() and forward() instead');
    }
    return handle;
  }

  /** Copies of every checkpoint tensor (parameters and BatchNorm statistics), by name, in checkpoint order. */
  parameters(): Promise<Map<string, Tensor>> {
    return native(async () => toMap(await this.handle().state()));
  }

  /** Replaces tensors by name; shapes are checked and the model keeps copies. */
  setParameters(tensors: Map<string, Tensor> | Record<string, Tensor>): Promise<void> {
    return native(async () => {
      const entries = tensors instanceof Map ? [...tensors] : Object.entries(check.options(tensors, 'tensors'));
      const pairs = entries.map(([name, t]): [string, NativeTensor] => [name, Tensor.nativeOf(t, `tensors['${name}']`)]);
      await this.handle().setState(pairs);
    });
  }

  /** Writes a checkpoint atomically; `metadata` is kept beside the configuration. */
  save(path: string, metadata: Record<string, string> = {}): Promise<void> {
    return native(async () => {
      const meta = check.options(metadata, 'metadata');
      for (const [k, v] of Object.entries(meta)) {
        if (typeof v !== 'string') throw new InvalidArgumentError(`metadata['${k}'] must be a string, got ${check.describe(v)}`);
      }
      await this.handle().save(check.string(path, 'path'), meta as Record<string, string>);
    });
  }

  /**
   * Writes the inference graph as an ONNX file (opset 19+, DeformConv for the
   * deformable kernels), for runtimes this package does not reach: the input
   * 'images' is float32 [B, C, S, S] as `forward` takes it (2·v/255 − 1), the output 'logits'
   * [B, classes, S, S]. Fails with UnsupportedError, naming the module, where
   * the configuration has no ONNX form at `options.opset`; writes atomically.
   */
  exportOnnx(path: string, options: OnnxExportOptions = {}): Promise<void> {
    return native(async () => {
      const file = check.string(path, 'path');
      const weights = await this.parameters();
      try {
        await exportOnnx(this.config, weights, file, options);
      } finally {
        for (const t of weights.values()) t.dispose();
      }
    });
  }

  /** Parameters, MACs and activation memory per module. */
  summary(): Promise<ModelSummary> {
    return native(async () => {
      const modules = await this.handle().summary();
      const total = { parameters: 0, macs: 0, offsetMacs: 0, activationBytes: 0 };
      for (const m of modules) {
        total.parameters += m.parameters;
        total.macs += m.macs;
        total.offsetMacs += m.offsetMacs;
        total.activationBytes += m.activationBytes;
      }
      return { modules, total };
    });
  }

  /** Frees the model: waits for the call in progress, rejects queued calls with CancelledError. */
  dispose(): void {
    this.nativeModel?.dispose();
    this.nativeModel = null;
  }

  private handle(): NativeModel {
    if (this.nativeModel === null) throw new DisposedError('the model was disposed');
    return this.nativeModel;
  }
}
