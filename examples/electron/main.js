// Electron's main process: one window, and the model in a worker thread
// (segmenter-worker.js, driven by segmenter-bridge.js) so that neither the
// window nor this process waits on it. The renderer reaches it only through
// preload.js; it never loads native code itself (a renderer is sandboxed).
//
// The model is a trained checkpoint the user chooses: `npm start -- --model
// /abs/model.safetensors`, MODEL_PATH=/abs/model.safetensors, or the window's
// "Choose a model…" button. Until one has loaded, the app refuses to segment.
'use strict';
const path = require('node:path');
const { app, BrowserWindow, dialog, ipcMain } = require('electron');
const { SegmenterBridge, modelPathFromCommandLine } = require('./segmenter-bridge');

let bridge;

ipcMain.handle('choose-model', async (event) => {
  const { canceled, filePaths } = await dialog.showOpenDialog(BrowserWindow.fromWebContents(event.sender), {
    title: 'Choose a trained model', properties: ['openFile'],
    filters: [{ name: 'DMDLK-Net checkpoints', extensions: ['safetensors'] }],
  });
  if (!canceled) await bridge.loadModel(filePaths[0]);
});
ipcMain.handle('choose-image', async (event) => {
  const { canceled, filePaths } = await dialog.showOpenDialog(BrowserWindow.fromWebContents(event.sender), {
    properties: ['openFile'], filters: [{ name: 'Images', extensions: ['jpg', 'jpeg', 'png', 'tif', 'tiff', 'bmp', 'webp'] }],
  });
  return canceled ? null : filePaths[0];
});
ipcMain.handle('segment', (_event, file) => bridge.segment(file));

app.whenReady().then(() => {
  const window = new BrowserWindow({
    width: 900, height: 700,
    webPreferences: { preload: path.join(__dirname, 'preload.js'), contextIsolation: true, sandbox: true },
  });
  bridge = new SegmenterBridge(path.join(__dirname, 'segmenter-worker.js'), window.webContents);
  // Statuses sent before the page has loaded are lost: it gets the current one once it is there.
  window.webContents.on('did-finish-load', () => window.webContents.send('status', bridge.status));
  const modelPath = modelPathFromCommandLine(process.argv, process.env);
  if (modelPath) bridge.loadModel(modelPath);
  window.on('closed', () => bridge.stop());
  window.loadFile(path.join(__dirname, 'index.html'));
});

app.on('window-all-closed', () => app.quit());
