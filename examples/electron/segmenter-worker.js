// The model's side of the app, in a worker thread of Electron's main process
// (started by segmenter-bridge.js). Two requests:
//   { type: 'load', id, path }    → { type: 'model', id, path, device } or { type: 'model', id, path, error, code }
//   { type: 'segment', id, file } → { type: 'result', id, width, height, lesionShare, overlayPng } or { type: 'result', id, error, code }
// Each model call runs on the model's own native thread, so neither this
// worker nor the main process blocks on it and the window stays responsive.
// Plain Node: test/js/electron-example.test.ts runs this file in a
// worker_threads Worker without Electron.
'use strict';
const { parentPort } = require('node:worker_threads');
const { DMDLKNet, overlayPng } = require('dmdlk-native');

// The model of the latest 'load', or null: none was asked for, or it did not
// load. There is deliberately no default model: an untrained network marks
// arbitrary pixels as lesion (100% of a real photo in one try), an answer that
// looks like a result and means nothing.
let currentModel = Promise.resolve(null);

function errorReply(error) {
  // Typed errors (a DmdlkError has a stable code, ERR_IO, ERR_FORMAT, …) keep their code for the window.
  return { error: error.message, code: error.code ?? null };
}

function load({ id, path }) {
  const replaced = currentModel;
  const loading = DMDLKNet.load(path);
  currentModel = loading.catch(() => null);
  loading.then((model) => parentPort.postMessage({ type: 'model', id, path, device: model.device }),
    (error) => parentPort.postMessage({ type: 'model', id, path, ...errorReply(error) }));
  // Nothing asks the replaced model anything once this one has settled: free
  // it (dispose lets a prediction in progress finish first).
  currentModel.then(() => replaced).then((model) => model?.dispose());
}

async function segment({ id, file }) {
  try {
    const model = await currentModel;
    if (!model) {
      throw Object.assign(new Error('no trained model is loaded: choose a trained model (.safetensors, written by "dmdlk train") first'),
        { code: 'ERR_NO_MODEL' });
    }
    const { mask, width, height } = await model.predict(file);
    const lesion = mask.reduce((n, v) => n + (v > 0 ? 1 : 0), 0);
    const overlay = await overlayPng(file, mask);
    parentPort.postMessage({ type: 'result', id, width, height, lesionShare: lesion / (width * height), overlayPng: overlay.toString('base64') });
  } catch (error) {
    parentPort.postMessage({ type: 'result', id, ...errorReply(error) });
  }
}

parentPort.on('message', (request) => {
  if (request.type === 'load') load(request);
  else if (request.type === 'segment') segment(request);
});
