// The renderer's only way to the model, answered by main.js: choose a model,
// choose an image, segment it, and hear about the model's status.
'use strict';
const { contextBridge, ipcRenderer } = require('electron');

contextBridge.exposeInMainWorld('segmenter', {
  chooseModel: () => ipcRenderer.invoke('choose-model'),
  chooseImage: () => ipcRenderer.invoke('choose-image'),
  segment: (file) => ipcRenderer.invoke('segment', file),
  // The listener gets the status object only, never Electron's event (which would hand the page ipcRenderer's sender).
  onStatus: (listener) => ipcRenderer.on('status', (_event, status) => listener(status)),
});
