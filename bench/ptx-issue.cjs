#!/usr/bin/env node
// What the SM must issue per K step of each tiled-GEMM kernel, read from the
// PTX that nvcc kept while building the CUDA backend (build/ptx: cuobjdump
// and nvdisasm are not on our machines; PTX is).
//
//   node bench/ptx-issue.cjs [build dir]           the table, per instantiation
//   node bench/ptx-issue.cjs --write [build dir]   native/cpp/gpu/gemm_issue_table.h from it
//
// For every simt_kernel and wmma_kernel it finds the K loop (the innermost
// backward branch whose span holds multiply-adds), counts the instructions
// between its label and the branch, and weighs each by the issue slots it
// takes a warp on sm_90 (WEIGHT). Static counts: a conditional load counts as
// taken (the interior of a tensor, where the time goes), and the depth
// tables' decomposition, which only the first warp runs, counts for every
// warp (an overestimate of 2 divisions a slice). The time model
// (time_model.h) turns the table into each launch's issue bound;
// test/js/gemm-issue.test.ts fails when the kernels change and the
// committed table was not regenerated.
'use strict';
const fs = require('node:fs');
const path = require('node:path');
const { execFileSync } = require('node:child_process');

// Issue slots per PTX instruction: a 32-bit integer division expands to ~20
// SASS instructions, a 64-bit one to ~70, 64-bit integer arithmetic to two;
// an m16n16k8 (TF32) or m16n16k16 (BF16) wmma.mma to two HMMA, a WMMA
// fragment load to two shared loads; parameters are constant-bank operands
// and most moves vanish in register allocation.
const WEIGHT = { div32: 20, div64: 70, int64: 2, mma: 2, fragment: 2, free: 0, other: 1 };
const CLASSES = ['div32', 'div64', 'int64', 'mma', 'fragment', 'free', 'other'];

const KERNEL = /^(?:\.visible )?\.entry (\S+)\(/;
// A device function (a __noinline__ epilogue, the split-K finish) ends the kernel before it.
const DEVICE_FUNCTION = /^(?:\.visible |\.weak |\.extern )*\.func\b/;
const LABEL = /^(\$L__\w+):/;
const BRANCH = /^(?:@!?%p\d+\s+)?bra(?:\.uni)?\s+(\$L__\w+);/;

function opcode(line) {
  const words = line.split(/\s+/);
  return words[0].startsWith('@') ? words[1] : words[0];
}

function classify(line) {
  const op = opcode(line);
  if (/^(div|rem)\./.test(op)) return /64$/.test(op) ? 'div64' : 'div32';
  if (/^(wmma\.mma|mma\.)/.test(op)) return 'mma';
  if (/^wmma\.load/.test(op)) return 'fragment';
  if (/^(ld\.param|mov\.|cvta\.)/.test(op)) return 'free';
  if (/^(add|sub|mul|mad|shl|shr|and|or|xor|setp|selp|min|max)\.(lo\.|wide\.)?[a-z]*[su]64/.test(op)) return 'int64';
  return 'other';
}

function* functions(ptx) {
  let name = null;
  let body = [];
  for (const raw of ptx.split('\n')) {
    const line = raw.trim();
    const m = KERNEL.exec(line);
    if (m || DEVICE_FUNCTION.test(line)) {
      if (name) yield [name, body];
      name = m ? m[1] : null;
      body = [];
    } else if (name && line && !/^(\/\/|\.|\{|\}|\))/.test(line)) body.push(line);
  }
  if (name) yield [name, body];
}

function kLoop(body) {
  const labels = new Map();
  const loops = [];
  body.forEach((line, i) => {
    const l = LABEL.exec(line);
    if (l) labels.set(l[1], i);
    const b = BRANCH.exec(line);
    if (b && labels.has(b[1])) loops.push([labels.get(b[1]), i]);
  });
  const work = loops.filter(([a, b]) =>
    body.slice(a, b).some((x) => !LABEL.test(x) && (classify(x) === 'mma' || /^fma\./.test(opcode(x)))),
  );
  work.sort((x, y) => x[1] - x[0] - (y[1] - y[0]));
  return work[0];
}

// simt_kernel<SimtLargeTile…> names its tile by numbers; the table keys it by GemmKernel.
const KERNELS = {
  'simt 128x128x8': 'SimtLarge',
  'simt 64x64x16': 'SimtSmall',
  'simt 32x32x16': 'SimtTiny',
  'wmma 128x128x16': 'WmmaLarge',
  'wmma 64x64x16': 'WmmaSmall',
  'wmma 32x32x16': 'WmmaTiny',
  'wmma 32x64x16': 'WmmaWide',
};

function describe(demangled) {
  const kind = demangled.includes('wmma_kernel') ? 'wmma' : 'simt';
  const tile = /Tile<(\d+), (\d+), (\d+), (\d+)/.exec(demangled);
  const unit = demangled.includes('::Bf16')
    ? 'Bf16'
    : demangled.includes('::Tf32')
      ? 'Tf32'
      : demangled.includes(', double, ')
        ? 'Fp64'
        : 'Fp32';
  const operands = [...demangled.matchAll(/cuda_ops::(\w+)<(?:float|double)>/g)].map((m) => m[1]);
  return {
    kernel: KERNELS[`${kind} ${tile[1]}x${tile[2]}x${tile[3]}`],
    unit,
    a: operands[0],
    b: operands[1],
    out: operands[2],
  };
}

function analyse(ptxFiles) {
  const rows = [];
  for (const file of ptxFiles) {
    const ptx = fs.readFileSync(file, 'utf8');
    if (!/^\.target sm_90\b/m.test(ptx)) continue;  // the table is sm_90's
    const funcs = [...functions(ptx)].filter(([n]) => /simt_kernel|wmma_kernel/.test(n));
    if (funcs.length === 0) continue;
    const names = execFileSync('c++filt', { input: funcs.map(([n]) => n).join('\n') })
      .toString()
      .trim()
      .split('\n');
    funcs.forEach(([, body], i) => {
      const loop = kLoop(body);
      if (!loop) throw new Error(`${names[i]}: no K loop found`);
      const counts = Object.fromEntries(CLASSES.map((c) => [c, 0]));
      for (const line of body.slice(loop[0], loop[1] + 1)) if (!LABEL.test(line)) counts[classify(line)] += 1;
      const issue = CLASSES.reduce((sum, c) => sum + WEIGHT[c] * counts[c], 0);
      rows.push({ ...describe(names[i]), ptx: loop[1] - loop[0], counts, issue });
    });
  }
  return rows;
}

// One entry per (kernel, unit, A, B): the most over the epilogues (which lie outside the loop).
function table(rows) {
  const entries = new Map();
  for (const r of rows) {
    const key = `${r.kernel} ${r.unit} ${r.a} ${r.b}`;
    const e = entries.get(key);
    if (!e || r.issue > e.issue) entries.set(key, r);
  }
  return [...entries.values()].sort((x, y) =>
    `${x.a} ${x.b} ${x.kernel} ${x.unit}`.localeCompare(`${y.a} ${y.b} ${y.kernel} ${y.unit}`),
  );
}

function header(entries) {
  const lines = entries.map(
    (e) => `    {GemmKernel::${e.kernel}, cuda::MathUnit::${e.unit}, "${e.a}", "${e.b}", ${e.issue}},`,
  );
  return `// Generated by \`node bench/ptx-issue.cjs --write\` from the PTX of CUDA 13.0 for
// sm_90 (build/ptx); test/js/gemm-issue.test.ts checks it is current. Issue
// slots one warp of each tiled-GEMM kernel spends per K step (bench/ptx-issue.cjs
// says how they are weighed), by tile, unit and operands.
#pragma once
#include "gpu/gemm_staging.h"
#include "gpu/launch_plan.h"

namespace dmdlk::cuda_ops {

struct GemmIssue {
  GemmKernel kernel;
  cuda::MathUnit unit;
  const char* a;
  const char* b;
  int per_step;
};

inline constexpr GemmIssue kGemmIssue[] = {
${lines.join('\n')}
};

}  // namespace dmdlk::cuda_ops
`;
}

const HEADER = path.join(__dirname, '..', 'native', 'cpp', 'gpu', 'gemm_issue_table.h');

function ptxFiles(build) {
  const dir = path.join(build, 'ptx');
  if (!fs.existsSync(dir)) return [];
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith('.ptx'))
    .map((f) => path.join(dir, f));
}

module.exports = { analyse, table, header, ptxFiles, HEADER, functions, classify, opcode, WEIGHT, CLASSES, LABEL, BRANCH };

if (require.main === module) {
  const args = process.argv.slice(2);
  const write = args.includes('--write');
  const build = args.find((a) => a !== '--write') ?? path.join(__dirname, '..', 'build');
  const files = ptxFiles(build);
  if (files.length === 0) {
    console.error(`no PTX under ${build}/ptx: build the CUDA backend first (npm run build:tests)`);
    process.exit(1);
  }
  const rows = analyse(files);
  if (write) {
    fs.writeFileSync(HEADER, header(table(rows)));
    console.log(`wrote ${path.relative(process.cwd(), HEADER)}`);
  } else {
    console.log('kernel     unit A            B             out          PTX div32 div64 mma issue/step');
    for (const r of rows)
      console.log(
        `${r.kernel.padEnd(10)} ${r.unit.padEnd(4)} ${r.a.padEnd(12)} ${r.b.padEnd(13)} ${r.out.padEnd(12)} ` +
          `${String(r.ptx).padStart(4)} ${String(r.counts.div32).padStart(5)} ${String(r.counts.div64).padStart(5)} ` +
          `${String(r.counts.mma).padStart(3)} ${String(r.issue).padStart(10)}`,
      );
  }
}
