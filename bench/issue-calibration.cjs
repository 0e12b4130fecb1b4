#!/usr/bin/env node
// Calibrates the time model's issue efficiency (KernelEfficiency::issue in
// native/cpp/gpu/time_model.h) on the one GEMM kernel a GPU has timed: the 64×64
// SIMT gemm_kernel of commit 9768c73 (= 039b9cf's kernels), measured on the
// H200 on 2026-11-30 (bench/results/h200-2026-11-30.json, fp32, TF32 off).
//
//   git worktree add /tmp/old 9768c73
//   (cd /tmp/old && nvcc -std=c++17 -arch=sm_90 --expt-relaxed-constexpr -O3 \
//     -Inative/cpp -Inative --ptx native/cuda/gemm.cu -o /tmp/old/gemm.ptx)
//   node bench/issue-calibration.cjs /tmp/old/gemm.ptx
//
// From the PTX: what one warp issues per 16-deep K step (the K loop, whose
// staging loop runs 64·16/256 = 4 times a step), weighed as bench/ptx-issue.cjs
// weighs it. Per measured row: the warp instructions the launch issues
// (blocks · 8 warps · K/16 steps · per step), and the share of the H200's
// issue rate (132 SMs · 4 schedulers · 1.98 GHz) that its measured time
// implies. Large GEMMs fill the GPU, so that share is the efficiency asked —
// where the PTX says what runs: see the range this prints.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');
const ptx = require('./ptx-issue.cjs');

const SMS = 132, SCHEDULERS = 4, CLOCK = 1.98e9;
const TILE = 64, DEPTH = 16, THREADS = 256, STAGING_TRIPS = (TILE * DEPTH) / THREADS;
// bench/ops.sh timed each op from the host with a device synchronisation after it:
// about 10 µs no kernel holds (bench/time_model_vs_h200.py's SYNC_MS).
const SYNC_MS = 0.01;

function loops(body) {
  const labels = new Map();
  const found = [];
  body.forEach((line, i) => {
    const l = ptx.LABEL.exec(line);
    if (l) labels.set(l[1], i);
    const b = ptx.BRANCH.exec(line);
    if (b && labels.has(b[1])) found.push([labels.get(b[1]), i]);
  });
  return found;
}

function weigh(lines) {
  return lines.filter((l) => !ptx.LABEL.test(l)).reduce((sum, l) => sum + ptx.WEIGHT[ptx.classify(l)], 0);
}

const file = process.argv[2];
if (!file) {
  console.error('usage: node bench/issue-calibration.cjs <9768c73 gemm.ptx>');
  process.exit(2);
}
const funcs = [...ptx.functions(fs.readFileSync(file, 'utf8'))];
const names = execFileSync('c++filt', { input: funcs.map(([n]) => n).join('\n') }).toString().trim().split('\n');
const index = names.findIndex((n) => n.includes('gemm_kernel<float>'));
if (index < 0) throw new Error(`${file}: no gemm_kernel<float>`);
const body = funcs[index][1];
const all = loops(body);
const fma = ([a, b]) => body.slice(a, b).some((l) => /^fma\./.test(ptx.opcode(l)));
const kLoop = all.filter(fma).sort((x, y) => y[1] - y[0] - (x[1] - x[0]))[0];  // the outermost loop holding FMAs
const staging = all.filter(([a, b]) => a > kLoop[0] && b < kLoop[1] && !fma([a, b]));
// The staging loop comes out of nvcc as several loops (versions for the
// transposes, peeled trips) whose executed share the PTX does not say: the
// count per step lies between one of them running its trips and all of them.
const kBody = weigh(body.slice(kLoop[0], kLoop[1] + 1));
const stagingWeights = staging.map(([a, b]) => weigh(body.slice(a, b + 1)));
const straight = kBody - stagingWeights.reduce((a, b) => a + b, 0);
const low = straight + STAGING_TRIPS * Math.min(...stagingWeights);
const high = straight + STAGING_TRIPS * stagingWeights.reduce((a, b) => a + b, 0);
console.log(`gemm_kernel<float> of 9768c73, issue slots a warp per K step: ${low} (one staging version runs) to ${high} ` +
  `(all ${staging.length} run ${STAGING_TRIPS}× a step); the loop's straight-line part ${straight}`);

const measured = JSON.parse(fs.readFileSync(path.join(__dirname, 'results', 'h200-2026-11-30.json'), 'utf8'));
const rate = SMS * SCHEDULERS * CLOCK;
const implied = [];
console.log('row                 measured ms   issue efficiency it implies: straight part only / one staging version / all');
for (const op of measured.ops.filter((o) => /^gemm \d+$/.test(o.name))) {
  const n = Number(op.name.split(' ')[1]);
  const blocks = Math.ceil(n / TILE) ** 2, steps = Math.ceil(n / DEPTH);
  for (const [pass, products] of [['forward', 1], ['backward', 2]]) {  // the backward: dA and dB, each as large
    const warpSteps = products * blocks * (THREADS / 32) * steps;
    const ms = op.ours[`${pass}_ms`] - SYNC_MS;
    const [least, lo, hi] = [straight, low, high].map((perStep) => (warpSteps * perStep) / (rate * ms * 1e-3));
    if (blocks >= 2 * SMS) implied.push([least, lo, hi]);
    console.log(`${`${op.name} ${pass}`.padEnd(19)} ${ms.toFixed(3).padStart(11)}   ${least.toFixed(2)} / ${lo.toFixed(2)} / ${hi.toFixed(2)}` +
      `${blocks >= 2 * SMS ? '' : '  (fills the GPU less than twice: not counted)'}`);
  }
}
const mean = (i) => implied.reduce((s, r) => s + r[i], 0) / implied.length;
console.log(`rows that fill the GPU: ${mean(0).toFixed(2)} / ${mean(1).toFixed(2)} / ${mean(2).toFixed(2)} of the schedulers' rate ` +
  '(a share above 1 means that count is more than ran)');
