// The model's side of the app, in a worker thread of Electron's main process:
// it loads DMDLK-Net once and answers { id, file } requests with the mask's
// share of the image and an overlay PNG. Each call runs on the model's own
// native thread, so neither this worker nor the main process ever blocks on
// it, and the window stays responsive. Plain Node: test/js/electron-example
// runs this file in a worker_threads Worker without Electron.
'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const { DMDLKNet, overlayPng } = require('dmdlk-native');

// A checkpoint of yours (dmdlk train writes one), else the paper's model
// untrained: enough to see the app work, not to segment anything well.
const ready = workerData.modelPath
  ? DMDLKNet.load(workerData.modelPath)
  : DMDLKNet.create({ inputSize: 256 }, { seed: 0 });

ready.then((model) => parentPort.postMessage({ type: 'ready', device: model.device }),
  (error) => parentPort.postMessage({ type: 'ready', error: error.message }));

parentPort.on('message', async ({ id, file }) => {
  try {
    const model = await ready;
    const { mask, width, height } = await model.predict(file);
    const lesion = mask.reduce((n, v) => n + (v > 0 ? 1 : 0), 0);
    const overlay = await overlayPng(file, mask);
    parentPort.postMessage({ type: 'result', id, width, height, lesionShare: lesion / (width * height), overlayPng: overlay.toString('base64') });
  } catch (error) {
    // Typed errors (an unreadable image is a DmdlkError with a code) go back to the window as text.
    parentPort.postMessage({ type: 'result', id, error: `${error.message}${error.code ? ` [${error.code}]` : ''}` });
  }
});
