// What stands for the npm registry in an app that installs a release from its
// tarballs: package.json "overrides" naming PLATFORM's package as its tarball
// and every other platform's as a stand-in with that platform's os, cpu and
// libc (its binary a file that is not one), which npm must pass over; and
// npm's flags that install as on PLATFORM. The platforms are the release's
// (scripts/release.js).
//   node test/platforms/registry-overrides.js DIR PLATFORM TARBALL
//     prints {"overrides": {...}, "npmTarget": [...]}, the stand-ins made under DIR
'use strict';
const fs = require('node:fs');
const path = require('node:path');

const { PLATFORMS, SCOPE, pack } = require('../../scripts/release.js');
const { version } = require('../../package.json');

/** npm's flags that install as on `platform`. */
function npmTarget(platform) {
  const spec = PLATFORMS[platform];
  if (!spec) throw new Error(`no platform '${platform}' (${Object.keys(PLATFORMS).join(', ')})`);
  return [`--os=${spec.os}`, `--cpu=${spec.cpu}`, ...(spec.libc ? [`--libc=${spec.libc}`] : [])];
}

function registryOverrides(dir, platform, tarball) {
  const overrides = { [`${SCOPE}/${platform}`]: `file:${tarball}` };
  for (const [other, spec] of Object.entries(PLATFORMS)) {
    if (other === platform) continue;
    const standIn = path.join(dir, other);
    fs.mkdirSync(standIn, { recursive: true });
    fs.writeFileSync(path.join(standIn, 'package.json'), JSON.stringify({
      name: `${SCOPE}/${other}`, version, os: [spec.os], cpu: [spec.cpu], ...(spec.libc ? { libc: [spec.libc] } : {}) }));
    fs.writeFileSync(path.join(standIn, 'dmdlk-native.node'), 'not a binary');
    overrides[`${SCOPE}/${other}`] = `file:${pack(standIn, standIn)}`;
  }
  return overrides;
}

if (require.main === module) {
  const [dir, platform, tarball] = process.argv.slice(2);
  console.log(JSON.stringify({ overrides: registryOverrides(dir, platform, tarball), npmTarget: npmTarget(platform) }));
}
module.exports = { registryOverrides, npmTarget };
