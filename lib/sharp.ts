// sharp, loaded on first use: requiring the package stays quick, and the
// model API works where sharp is absent (the lent GPU machine carries the
// build outputs but no node_modules).
import type SharpModule from 'sharp';

let loaded: typeof SharpModule | undefined;

export function sharp(...args: Parameters<typeof SharpModule>): ReturnType<typeof SharpModule> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  loaded ??= require('sharp') as typeof SharpModule;
  return loaded(...args);
}
