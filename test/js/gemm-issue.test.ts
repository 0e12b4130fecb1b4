// The time model's issue counts (native/cpp/gpu/gemm_issue_table.h) are those of
// the kernels this checkout builds: bench/ptx-issue.cjs recounts them from the
// sm_90 PTX the CUDA build keeps in build/ptx and the committed table must
// match, entry for entry. After changing a kernel: `node bench/ptx-issue.cjs --write`.
// Without a CUDA build for sm_90 (no nvcc, or another architecture) there is
// nothing to count, and the test says so.
import * as fs from 'node:fs';
import * as path from 'node:path';

const root = path.join(__dirname, '..', '..');
const counter = require(path.join(root, 'bench', 'ptx-issue.cjs'));

interface Entry {
  kernel: string;
  unit: string;
  a: string;
  b: string;
  issue: number;
}

function committed(): Entry[] {
  const text = fs.readFileSync(counter.HEADER, 'utf8');
  const entry = /\{GemmKernel::(\w+), cuda::MathUnit::(\w+), "(\w+)", "(\w+)", (\d+)\}/g;
  return [...text.matchAll(entry)].map((m) => ({ kernel: m[1], unit: m[2], a: m[3], b: m[4], issue: Number(m[5]) }));
}

const files: string[] = counter.ptxFiles(path.join(root, 'build'));
const sm90 = files.filter((f) => /^\.target sm_90\b/m.test(fs.readFileSync(f, 'utf8')));

describe('the GEMM issue table', () => {
  test('lists each kernel each product can launch, once', () => {
    // The operands of the dense products and attention, and of the three convolution products;
    // float on every tile (SIMT in fp32, WMMA in TF32 and BF16), float64 on the 64×64 SIMT tile.
    const pairs = ['DenseA DenseB', 'DenseA ConvColumns', 'WeightT OutputTaps', 'OutputRows ConvColumnsT'];
    const kernels = [
      ...['SimtLarge', 'SimtSmall', 'SimtTiny'].map((k) => `${k} Fp32`),
      ...['WmmaLarge', 'WmmaSmall', 'WmmaTiny'].flatMap((k) => [`${k} Tf32`, `${k} Bf16`]),
      'SimtSmall Fp64',
    ];
    // The 32×64 tensor-core tile serves convolutions' input gradients alone (GemmTileSet::AllAndWide).
    const wide = ['WmmaWide Tf32', 'WmmaWide Bf16'].map((k) => `${k} WeightT OutputTaps`);
    const expected = [...pairs.flatMap((p) => kernels.map((k) => `${k} ${p}`)), ...wide].sort();
    const keys = committed().map((e) => `${e.kernel} ${e.unit} ${e.a} ${e.b}`);
    expect([...keys].sort()).toEqual(expected);
  });

  (sm90.length > 0 ? test : test.skip)('is what the kernels built here issue (sm_90 PTX in build/ptx)', () => {
    const counted: Entry[] = counter
      .table(counter.analyse(sm90))
      .map((r: Entry) => ({ kernel: r.kernel, unit: r.unit, a: r.a, b: r.b, issue: r.issue }));
    const sort = (entries: Entry[]) =>
      [...entries].sort((x, y) => `${x.kernel}${x.unit}${x.a}${x.b}`.localeCompare(`${y.kernel}${y.unit}${y.a}${y.b}`));
    expect(sort(committed())).toEqual(sort(counted));
  });
});

if (sm90.length === 0) console.log('gemm-issue: no sm_90 PTX under build/ptx (CUDA not built for sm_90): table not recounted');
