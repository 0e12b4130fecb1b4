import * as fs from 'node:fs';

import { info } from '../../lib';

describe('info()', () => {
  const i = info();

  it('reports the version, the binary and N-API 8', () => {
    expect(i.version).toBe(require('../../package.json').version);
    expect(i.napiVersion).toBe(8);
    expect(fs.existsSync(i.binary)).toBe(true);
    expect(i.binary).toMatch(/\.node$/);
  });

  it('reports CPU threads and the SIMD level the kernels use', () => {
    expect(i.cpu.threads).toBeGreaterThanOrEqual(1);
    expect(['avx2', 'portable']).toContain(i.cpu.simd);
    const cpuinfo = fs.existsSync('/proc/cpuinfo') ? fs.readFileSync('/proc/cpuinfo', 'utf8') : '';
    const hasAvx2 = /\bavx2\b/.test(cpuinfo) && /\bfma\b/.test(cpuinfo);
    expect(i.cpu.features.avx2).toBe(/\bavx2\b/.test(cpuinfo));
    expect(i.cpu.simd).toBe(hasAvx2 ? 'avx2' : 'portable');
  });

  it('reports CUDA with devices, or unavailable with a reason', () => {
    if (i.cuda.available) {
      expect(i.cuda.devices.length).toBeGreaterThan(0);
      for (const d of i.cuda.devices) {
        expect(d.name.length).toBeGreaterThan(0);
        expect(d.computeCapability).toMatch(/^\d+\.\d+$/);
        expect(d.totalMemory).toBeGreaterThan(0);
      }
    } else {
      expect(i.cuda.reason).toBeTruthy();
      expect(i.cuda.devices).toEqual([]);
      console.log(`CUDA unavailable here: ${i.cuda.reason}`);
    }
    if (i.cuda.compiled) expect(i.cuda.architectures).toMatch(/\d/);
  });
});
