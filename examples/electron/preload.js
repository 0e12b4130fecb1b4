// The renderer's only way to the model: three calls, answered by main.js.
'use strict';
const { contextBridge, ipcRenderer } = require('electron');

contextBridge.exposeInMainWorld('segmenter', {
  model: () => ipcRenderer.invoke('model'),
  open: () => ipcRenderer.invoke('open'),
  segment: (file) => ipcRenderer.invoke('segment', file),
});
