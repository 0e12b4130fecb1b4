// Faults and load: a process killed at random moments while it writes
// checkpoints always leaves the previous checkpoint loadable and resumable; a
// checkpoint folder that cannot be written stops training with ERR_IO and the
// model intact; disposing a model while it trains settles every Promise; many
// concurrent calls on one model all resolve, in order; and thousands of
// training steps and create/dispose cycles leave native memory flat.
import { type ChildProcess, fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

import { CancelledError, DisposedError, DMDLKNet, IOError, type ModelConfig, syntheticLesions, Tensor } from '../../lib';
import { listCheckpoints } from '../../lib/train/checkpoints';

const tiny: ModelConfig = { inputSize: 32, stem: 8, widths: [8, 16, 16, 32], depths: [1, 1, 1, 1], headDim: 8 };
const lib = path.join(__dirname, '..', '..', 'dist', 'lib');

function rssMb(): number {
  return process.memoryUsage.rss() / 2 ** 20;
}

describe('reliability', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dmdlk-faults-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a process killed (SIGKILL) at random moments of checkpointing leaves the last checkpoint loadable and resumable', async () => {
    const ckpt = path.join(dir, 'killed');
    const script = path.join(dir, 'train-forever.js');
    fs.writeFileSync(script, `
const { DMDLKNet, syntheticLesions } = require(${JSON.stringify(lib)});
(async () => {
  const model = await DMDLKNet.create(${JSON.stringify(tiny)}, { seed: 1 });
  const data = syntheticLesions({ count: 8, size: 32 });
  // One step per epoch and a checkpoint after each: the process spends most of its time writing them.
  await model.fit(data, { epochs: 1000000, batchSize: 8, checkpoint: { dir: process.argv[2], keep: 2 },
    resume: require('fs').existsSync(process.argv[2]) ? process.argv[2] : undefined,
    onEpoch: () => process.send && process.send('epoch') });
})();`);
    let kills = 0;
    for (let round = 0; round < 12; round++) {
      const child: ChildProcess = fork(script, [ckpt], { stdio: 'ignore' });
      // Kill after a random number of epochs plus a random delay: inside or between writes.
      const epochs = 1 + Math.floor(Math.random() * 3);
      await new Promise<void>((resolve) => {
        let seen = 0;
        child.on('message', () => {
          // onEpoch comes before its epoch's checkpoint is written: until one is complete, a kill could leave none to test.
          if (listCheckpoints(ckpt).length === 0) return;
          if (++seen === epochs) setTimeout(() => { child.kill('SIGKILL'); kills++; }, Math.random() * 40);
        });
        child.on('exit', () => resolve());
      });
      const files = listCheckpoints(ckpt);
      expect(files.length).toBeGreaterThan(0);
      const newest = await DMDLKNet.load(files.at(-1)!);
      expect(newest.config.inputSize).toBe(32);
      newest.dispose();
    }
    // And training resumes from what the last kill left.
    const model = await DMDLKNet.create(tiny, { seed: 9 });
    const before = listCheckpoints(ckpt).at(-1)!;
    const step = Number(/step-(\d+)/.exec(before)![1]);
    const history = await model.fit(syntheticLesions({ count: 8, size: 32 }), { epochs: step + 1, batchSize: 8, resume: ckpt });
    expect(history.globalStep).toBe(step + 1);
    console.log(`${kills} SIGKILLs during checkpointing; every time the newest checkpoint loaded, and training resumed from step ${step}`);
    model.dispose();
  }, 300000);

  it('a checkpoint folder that cannot be written stops training with ERR_IO, the model intact', async () => {
    const blocker = path.join(dir, 'a-file');
    fs.writeFileSync(blocker, 'not a folder');
    const model = await DMDLKNet.create(tiny, { seed: 1 });
    const error = await model.fit(syntheticLesions({ count: 8, size: 32 }), { epochs: 2, batchSize: 4,
      checkpoint: { dir: path.join(blocker, 'checkpoints') } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(IOError);
    expect((error as Error).message).toMatch(/a-file/);
    expect((await model.forward(Tensor.zeros([1, 3, 32, 32]))).shape).toEqual([1, 2, 32, 32]);
    model.dispose();
  });

  it('disposing a model while it trains settles fit and every queued call', async () => {
    const model = await DMDLKNet.create({ ...tiny, inputSize: 64 });
    const data = syntheticLesions({ count: 32, size: 64 });
    // Disposed just after the third step's progress event, whatever the
    // machine's speed: by then fit has queued the fourth step, which is
    // running or done. The forward queued next may find the thread free and
    // complete; the summary queued behind it cannot have started, and fit
    // cannot go on: both are cancelled by the dispose.
    let steps = 0;
    let queued: Promise<unknown>[] = [];
    const training = model.fit(data, { epochs: 100, batchSize: 4, onProgress: () => {
      if (++steps !== 3) return;
      setImmediate(() => {
        queued = [model.forward(Tensor.zeros([1, 3, 64, 64])), model.summary()];
        model.dispose();
      });
    } });
    await training.catch(() => undefined);
    const results = await Promise.allSettled([training, ...queued]);
    expect(results[0].status).toBe('rejected');
    expect(results[2].status).toBe('rejected');
    for (const r of results) {
      if (r.status === 'fulfilled') continue;
      expect(r.reason instanceof CancelledError || r.reason instanceof DisposedError).toBe(true);
    }
    expect(steps).toBeGreaterThanOrEqual(3);
    expect(steps).toBeLessThanOrEqual(4);
  });

  it('running out of host memory gives OutOfMemoryError (ERR_OOM), and the model goes on at a batch that fits', async () => {
    // A child process whose address space is capped (ulimit -v): a batch too
    // large for it fails in JavaScript (a tensor's typed array) or natively
    // (the network's activations), each time with the typed error, and the
    // same model then runs a small batch.
    const script = path.join(dir, 'oom.js');
    fs.writeFileSync(script, `
const { DMDLKNet, Tensor } = require(${JSON.stringify(lib)});
(async () => {
  const seen = [];
  try { Tensor.zeros([2 ** 31]); } catch (e) { seen.push(e.constructor.name + ' ' + e.code); }
  const model = await DMDLKNet.create({ inputSize: 256 }, { device: 'cpu' });
  try { await model.forward(Tensor.zeros([48, 3, 256, 256])); seen.push('ran'); } catch (e) { seen.push(e.constructor.name + ' ' + e.code); }
  const logits = await model.forward(Tensor.zeros([1, 3, 256, 256]));
  seen.push('small batch ' + logits.shape.join('x'));
  console.log(JSON.stringify(seen));
})();
`);
    const { execFileSync } = await import('node:child_process');
    const out = execFileSync('bash', ['-c', `ulimit -v 2000000 && exec "${process.execPath}" "${script}"`], { encoding: 'utf8', timeout: 120000 });
    expect(JSON.parse(out.trim().split('\n').pop() as string)).toEqual([
      'OutOfMemoryError ERR_OOM', 'OutOfMemoryError ERR_OOM', 'small batch 1x2x256x256']);
  }, 150000);

  it('runs 300 concurrent calls on one model in the order they were made', async () => {
    const model = await DMDLKNet.create(tiny, { seed: 1 });
    const order: number[] = [];
    const images = [0, 1, 2].map((v) => Tensor.from(new Float32Array(3 * 32 * 32).fill(v / 3), [1, 3, 32, 32]));
    const expected = await Promise.all(images.map((x) => model.forward(x).then((y) => y.toArray())));
    const calls = Array.from({ length: 300 }, (_, i) => model.forward(images[i % 3]).then((y) => {
      order.push(i);
      return y.toArray();
    }));
    const outputs = await Promise.all(calls);
    expect(order).toEqual(Array.from({ length: 300 }, (_, i) => i));
    outputs.forEach((o, i) => {
      expect(o).toEqual(expected[i % 3]);
    });
    model.dispose();
  });

  it('1,000 training steps and 10,000 create/dispose cycles leave native memory flat', async () => {
    const model = await DMDLKNet.create(tiny, { seed: 1 });
    const data = syntheticLesions({ count: 16, size: 32 });
    await model.fit(data, { epochs: 5, batchSize: 2 });  // warm: graphs, plans, caches
    const beforeSteps = rssMb();
    await model.fit(data, { epochs: 125, batchSize: 2 });  // 1,000 steps
    const afterSteps = rssMb();
    model.dispose();

    const cycle = async (n: number) => {
      for (let i = 0; i < n; i++) {
        const t = Tensor.zeros([64, 64]);
        t.dispose();
        Tensor.from(new Float32Array(256), [16, 16]).dispose();
      }
    };
    const models = async (n: number) => {
      for (let i = 0; i < n; i++) (await DMDLKNet.create({ ...tiny, stem: 8 })).dispose();
    };
    await cycle(1000);
    await models(100);
    const beforeCycles = rssMb();
    await cycle(4500);  // two tensors a cycle: 9,000 tensors
    await models(1000);
    global.gc?.();
    const afterCycles = rssMb();
    console.log(`RSS: ${beforeSteps.toFixed(0)} -> ${afterSteps.toFixed(0)} MB over 1,000 training steps; ` +
      `${beforeCycles.toFixed(0)} -> ${afterCycles.toFixed(0)} MB over 9,000 tensor and 1,000 model create/dispose cycles`);
    expect(afterSteps - beforeSteps).toBeLessThan(30);
    expect(afterCycles - beforeCycles).toBeLessThan(40);
  }, 300000);
});
