// Electron's main process: one window, and the model in a worker thread
// (segmenter-worker.js) so that neither the window nor this process waits on
// it. The renderer reaches it only through preload.js; it never loads native
// code itself (a renderer is sandboxed).
'use strict';
const path = require('node:path');
const { Worker } = require('node:worker_threads');
const { app, BrowserWindow, dialog, ipcMain } = require('electron');

let worker;
let nextId = 0;
const pending = new Map();
let ready;

function startWorker() {
  // MODEL_PATH: a checkpoint written by `dmdlk train` (its model.safetensors).
  worker = new Worker(path.join(__dirname, 'segmenter-worker.js'), { workerData: { modelPath: process.env.MODEL_PATH ?? null } });
  ready = new Promise((resolve) => worker.once('message', resolve));
  worker.on('message', (message) => {
    if (message.type !== 'result') return;
    pending.get(message.id)?.(message);
    pending.delete(message.id);
  });
}

ipcMain.handle('model', () => ready);
ipcMain.handle('open', async (event) => {
  const { canceled, filePaths } = await dialog.showOpenDialog(BrowserWindow.fromWebContents(event.sender), {
    properties: ['openFile'], filters: [{ name: 'Images', extensions: ['jpg', 'jpeg', 'png', 'tif', 'tiff', 'bmp', 'webp'] }],
  });
  return canceled ? null : filePaths[0];
});
ipcMain.handle('segment', (_event, file) => new Promise((resolve) => {
  const id = nextId++;
  pending.set(id, resolve);
  worker.postMessage({ id, file });
}));

app.whenReady().then(() => {
  startWorker();
  const window = new BrowserWindow({
    width: 900, height: 700,
    webPreferences: { preload: path.join(__dirname, 'preload.js'), contextIsolation: true, sandbox: true },
  });
  window.loadFile(path.join(__dirname, 'index.html'));
});

app.on('window-all-closed', () => {
  worker?.terminate();
  app.quit();
});
