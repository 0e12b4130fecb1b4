// The lent GPU machine's run, end to end on this machine without a GPU:
// test/gpu/pack-for-device.sh packs the checkout's build into .device/, then
// test/gpu/device-run.sh runs in a scratch copy of what the device tool copies
// (the files git lists, tracked or untracked but not ignored, and the carried
// .device/ and dist/) with a PATH of /usr/bin's programs but Node's, as there.
// nvidia-smi is left out of that PATH too, so that this is the run without a
// GPU wherever it runs: every GPU stage must say "no GPU" and be skipped, not
// failed. The carry must stay within 40 MB, every result must come back as a
// plain file, and the working tree must be as it was (.device/ is ignored).
import { execFile, execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = path.join(__dirname, '..', '..');
const carryLimit = 40_000_000;
const stages = ['unpack', 'info', 'gpu-parity', 'addon-gpu', 'onnx-check', 'bench-gpu-peak', 'bench-ops', 'bench-model'];
const gpuStages = stages.filter((s) => s === 'gpu-parity' || s === 'addon-gpu' || s.startsWith('bench-'));
// What the device has not: Node (the run must use the one it carried) and, here, a GPU.
const hidden = new Set(['node', 'nodejs', 'npm', 'npx', 'corepack', 'nvidia-smi']);
const packed = ['build/bin/node', 'build/Release/dmdlk.node', 'build/test_gpu_parity', 'build/bench_ops', 'build/bench_model'];

function gitStatus(): string {
  return execFileSync('git', ['status', '--porcelain'], { cwd: root, encoding: 'utf8' });
}

/** Bytes under the paths, as du -sb counts them (files and folders, not disk blocks). */
function bytes(paths: string[]): number {
  return execFileSync('du', ['-sb', ...paths], { cwd: root, encoding: 'utf8' })
    .trim().split('\n').reduce((sum, line) => sum + Number(line.split('\t')[0]), 0);
}

interface Row { stage: string; status: string; seconds: number; limit: number; note: string }

describe('the device run (test/gpu/device-run.sh) without a GPU', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'dmdlk-device-'));
  const tree = path.join(dir, 'tree');
  const out = path.join(dir, 'out');
  const bin = path.join(dir, 'bin');
  const treeBefore = gitStatus();
  let packLog = '';
  let packSeconds = 0;
  let exitCode = 0;
  let runLog = '';
  let runSeconds = 0;
  let header = '';
  let rows: Row[] = [];

  beforeAll(async () => {
    let started = Date.now();
    packLog = (await run('bash', ['test/gpu/pack-for-device.sh'], { cwd: root, timeout: 240000, maxBuffer: 1 << 24 })).stdout;
    packSeconds = (Date.now() - started) / 1000;

    const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: root, encoding: 'utf8' });
    for (const file of listed.split('\0').filter(Boolean)) {
      if (!fs.existsSync(path.join(root, file))) continue;  // deleted, not yet committed: not there to copy
      fs.mkdirSync(path.dirname(path.join(tree, file)), { recursive: true });
      fs.copyFileSync(path.join(root, file), path.join(tree, file));
    }
    for (const carried of ['.device', 'dist']) fs.cpSync(path.join(root, carried), path.join(tree, carried), { recursive: true });
    fs.mkdirSync(bin);
    for (const name of fs.readdirSync('/usr/bin')) if (!hidden.has(name)) fs.symlinkSync(path.join('/usr/bin', name), path.join(bin, name));

    started = Date.now();
    const env = { PATH: bin, HOME: dir, OUT: out, CUDA_VISIBLE_DEVICES: '' };
    try {
      runLog = (await run(path.join(bin, 'bash'), ['test/gpu/device-run.sh'], { cwd: tree, env, timeout: 300000, maxBuffer: 1 << 24 })).stdout;
    } catch (error) {
      const failed = error as { code: number; stdout: string; stderr: string };
      [exitCode, runLog] = [failed.code, `${failed.stdout}\n${failed.stderr}`];
    }
    runSeconds = (Date.now() - started) / 1000;
    const summary = fs.readFileSync(path.join(out, 'summary.txt'), 'utf8').trimEnd().split('\n');
    header = summary[0];
    rows = summary.slice(1).map((line) => {
      const m = /^(\S+)\s+(ok|failed|timed out|skipped)\s+(\d+)\s+(\d+)\s*(.*)$/.exec(line);
      if (!m) throw new Error(`summary.txt: unexpected line '${line}'`);
      return { stage: m[1], status: m[2], seconds: Number(m[3]), limit: Number(m[4]), note: m[5] };
    });
    console.log(`device run without a GPU: packed in ${packSeconds.toFixed(0)} s, carried ${bytes(['.device', 'dist'])} bytes, ` +
      `ran in ${runSeconds.toFixed(1)} s`);
  }, 360000);

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('carries at most 40 MB: the binaries compressed, Node, node-gyp-build and the ONNX exports', () => {
    const carried = bytes(['.device', 'dist']);
    expect(carried).toBeLessThanOrEqual(carryLimit);
    expect(packLog).toContain(`carried (.device + dist): ${carried} bytes, limit ${carryLimit}`);
    for (const file of packed) expect(fs.existsSync(path.join(root, '.device', `${file}.xz`))).toBe(true);
    expect(fs.readdirSync(path.join(root, '.device', 'build', 'onnx')).filter((f) => f.endsWith('.onnx.xz'))).toHaveLength(6);
    expect(fs.existsSync(path.join(root, '.device', 'node_modules', 'node-gyp-build', 'index.js'))).toBe(true);
  });

  it('runs every stage, skipping the GPU ones with "no GPU", and exits 0', () => {
    if (exitCode !== 0) console.log(runLog);
    expect(exitCode).toBe(0);
    expect(header).toMatch(/^stage\s+status\s+seconds\s+limit\s+note$/);
    expect(rows.map((r) => r.stage)).toEqual(stages);
    for (const r of rows.filter((row) => gpuStages.includes(row.stage))) {
      expect(r).toMatchObject({ status: 'skipped', note: 'no GPU' });
      expect(fs.readFileSync(path.join(out, `${r.stage}.log`), 'utf8')).toBe(`no GPU: skipped ${r.stage}\n`);
    }
    expect(rows.filter((r) => r.stage === 'unpack' || r.stage === 'info').map((r) => r.status)).toEqual(['ok', 'ok']);
    // onnx.checker where Python has onnx, else skipped (as on the CI image).
    const onnx = rows.find((r) => r.stage === 'onnx-check')!;
    if (onnx.status === 'skipped') expect(onnx.note).toBe('python onnx not installed');
    else expect(onnx.status).toBe('ok');
  });

  it('fits 5 minutes by its limits, and took a few seconds here', () => {
    // Each stage's limit, 1 s for it to die after the limit, 10 s of probes for a GPU and for
    // onnx, 11 s for the results' copy (bench_copy_results).
    expect(rows.reduce((sum, r) => sum + r.limit + 1, 10 + 11)).toBeLessThanOrEqual(300);
    expect(runSeconds).toBeLessThan(60);
  });

  it('unpacks what it carried to where the build puts it, and runs its own Node', () => {
    for (const file of packed.slice(1)) expect(fs.readFileSync(path.join(tree, file)).equals(fs.readFileSync(path.join(root, file)))).toBe(true);
    const info = fs.readFileSync(path.join(out, 'info.log'), 'utf8');
    expect(info).toContain(`node: ${path.join(tree, 'build', 'bin', 'node')} ${process.version}`);
    expect(info).toContain(`"binary": "${path.join(tree, 'build', 'Release', 'dmdlk.node')}"`);
  });

  it('leaves in $OUT plain files only: a log per stage and the summary', () => {
    const entries = fs.readdirSync(out, { withFileTypes: true });
    expect(entries.filter((e) => !e.isFile()).map((e) => e.name)).toEqual([]);
    expect(entries.map((e) => e.name).sort()).toEqual([...stages.map((s) => `${s}.log`), 'summary.txt'].sort());
  });

  it('leaves the working tree as it was', () => {
    expect(gitStatus()).toBe(treeBefore);
  });
});
