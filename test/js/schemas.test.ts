// The declarations in the native code and what derives from them: the
// model configuration's (native/cpp/nn/config_schema.cpp) and each op's
// attributes' (native/cpp/ops/attr_schema.h). The generated TypeScript and
// docs table are current, and the TypeScript configuration check
// (lib/config.ts) refuses exactly what the native one refuses, with the same
// message.
import * as fs from 'node:fs';

import { binding } from '../../lib/binding';
import { CONFIG_FIELDS, checkConfig, type ModelConfig } from '../../lib/config';
import { InvalidArgumentError } from '../../lib/errors';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const generator = require('../../scripts/generate-schemas.cjs') as { outputs(): [string, string][] };

function nativeMessage(config: Record<string, unknown>): string | undefined {
  try {
    binding.inferenceGraph(JSON.stringify(config), 1);
    return undefined;
  } catch (error) {
    return (error as Error).message;
  }
}

function typescriptMessage(config: Record<string, unknown>): string | undefined {
  try {
    checkConfig(config);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidArgumentError);
    return (error as Error).message;
  }
}

describe('the generated files', () => {
  it.each(generator.outputs())('%s is current (run node scripts/generate-schemas.cjs when this fails)', (file, content) => {
    expect(fs.readFileSync(file, 'utf8')).toBe(content);
  });
});

describe('the configuration schema', () => {
  it('has the fields the native declaration has, in its order', () => {
    const native = (JSON.parse(binding.configSchema()) as { name: string }[]).map((f) => f.name);
    expect(CONFIG_FIELDS.map((f) => f.name)).toEqual(native);
  });

  // Values at and past each field's bounds, of the wrong kind and of the wrong count.
  const bad: [keyof ModelConfig, unknown][] = [
    ['inChannels', 0], ['inChannels', 65], ['inChannels', 2.5], ['inChannels', '3'],
    ['numClasses', 1], ['numClasses', 17],
    ['inputSize', 100], ['inputSize', 0], ['inputSize', 4128], ['inputSize', null],
    ['stem', 0], ['widths', [32, 64, 128]], ['widths', [32, 64, 0, 256]], ['widths', 32],
    ['depths', [2, 3, 65, 2]], ['blocks', ['mbconv', 'mbconv', 'moat', 'attention']], ['blocks', 'moat'],
    ['windows', [14, -1, 0, 0]], ['headDim', 257], ['expansion', 0], ['seRatio', 0], ['seRatio', 1.5],
    ['seRatio', 'half'], ['offsets', 'heavy'], ['selectKernel', 2], ['selectKernel', 17],
  ];
  it.each(bad)('refuses %s = %j with the native message', (field, value) => {
    const config = { [field]: value };
    const native = nativeMessage(config);
    expect(native).toMatch(new RegExp(`^config\\.${field}`));
    expect(typescriptMessage(config)).toBe(native);
  });

  it('accepts what the native check accepts, field by field', () => {
    const good: ModelConfig[] = [{ inChannels: 1 }, { numClasses: 16 }, { inputSize: 32 }, { seRatio: 1 }, { offsets: 'light' },
      { selectKernel: 15 }, { windows: [14, 0, 0, 0] }, { blocks: ['moat', 'moat', 'moat', 'moat'] }];
    for (const config of good) {
      expect(typescriptMessage(config as Record<string, unknown>)).toBeUndefined();
      expect(nativeMessage(config as Record<string, unknown>)).toBeUndefined();
    }
  });

  it('leaves the rules between fields to the network', () => {
    const config = { headDim: 48 };  // 128 is not a multiple of 48 in the moat stages
    expect(typescriptMessage(config)).toBeUndefined();
    expect(nativeMessage(config)).toBe('config.widths[2] must be a multiple of headDim (48) in a moat stage, got 128');
  });
});
