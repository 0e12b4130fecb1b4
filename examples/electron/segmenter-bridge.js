// Between the window and the model's worker (segmenter-worker.js), without
// Electron itself, so that test/js/electron-example.test.ts runs it with a
// fake webContents: it starts the worker, forwards "load this model" and
// "segment this file", and keeps one status that it sends to the window on
// every change. Whatever goes wrong — a model that does not load, a worker
// that throws or exits — ends up in that status and in the answers of the
// calls waiting on the worker, so the window never waits forever.
'use strict';
const path = require('node:path');
const { Worker } = require('node:worker_threads');

const noModelMessage = 'No model: choose a trained model (.safetensors, written by "dmdlk train") first. ' +
  'An untrained one would mark arbitrary pixels as lesion.';

/**
 * The model to load at start: `--model <file>` or `--model=<file>` on the
 * command line, else the MODEL_PATH environment variable, else null. An
 * option rather than a bare argument, because Electron's and Chromium's own
 * switches share the command line. Relative paths are resolved against the
 * working directory (examples/electron under `npm start`).
 */
function modelPathFromCommandLine(argv, env) {
  const index = argv.findIndex((arg) => arg === '--model' || arg.startsWith('--model='));
  const given = index < 0 ? env.MODEL_PATH : argv[index] === '--model' ? argv[index + 1] : argv[index].slice('--model='.length);
  return given ? path.resolve(given) : null;
}

class SegmenterBridge {
  /**
   * `webContents` receives `send('status', status)` on every change; status
   * is { state, modelPath, device, error, message }, state one of 'none',
   * 'loading', 'ready', 'failed' (the chosen model did not load: there is
   * none) and 'stopped' (the worker is gone: restart the app), message the
   * sentence the window shows.
   */
  constructor(workerFile, webContents) {
    this.webContents = webContents;
    this.nextId = 0;
    this.latestLoad = -1;
    this.pending = new Map();  // id → resolve, for every request the worker has not answered yet
    this.stopping = false;
    this.status = { state: 'none', modelPath: null, device: null, error: null, message: noModelMessage };
    this.worker = new Worker(workerFile);
    this.worker.on('message', (answer) => this.onAnswer(answer));
    // An exception in the worker (dmdlk-native missing, its binary unloadable, a bug) arrives here, then 'exit'.
    this.worker.on('error', (error) => this.onStopped(`the segmenter failed: ${error.message}`));
    this.worker.on('exit', (code) => this.onStopped(`the segmenter stopped (exit code ${code})`));
  }

  /** Loads a checkpoint, replacing the current model; resolves to the status once the worker has answered. */
  loadModel(modelPath) {
    if (this.status.state === 'stopped') return Promise.resolve(this.status);
    const id = this.nextId++;
    this.latestLoad = id;
    this.setStatus({ state: 'loading', modelPath, device: null, error: null, message: `Loading ${modelPath}…` });
    return this.request({ type: 'load', id, path: modelPath }).then(() => this.status);
  }

  /** Segments an image file: the worker's answer, or { error, code } when there is no model or no worker. */
  segment(file) {
    if (this.status.state === 'stopped') return Promise.resolve({ error: this.status.error, code: 'ERR_STOPPED' });
    return this.request({ type: 'segment', id: this.nextId++, file });
  }

  /** Ends the worker, as the app quits: an expected exit, reported to nobody. */
  stop() {
    this.stopping = true;
    return this.worker.terminate();
  }

  request(message) {
    return new Promise((resolve) => {
      this.pending.set(message.id, resolve);
      this.worker.postMessage(message);
    });
  }

  onAnswer(answer) {
    // Only the latest load decides the model (the worker segments with that one too).
    if (answer.type === 'model' && answer.id === this.latestLoad) {
      this.setStatus(answer.error
        ? { state: 'failed', modelPath: answer.path, device: null, error: answer.error,
          message: `${answer.path} did not load: ${answer.error}${answer.code ? ` [${answer.code}]` : ''}. Choose a trained model (.safetensors).` }
        : { state: 'ready', modelPath: answer.path, device: answer.device, error: null, message: `Model ${answer.path}, on ${answer.device}` });
    }
    this.pending.get(answer.id)?.(answer);
    this.pending.delete(answer.id);
  }

  onStopped(error) {
    // 'exit' follows 'error': the first says more. After stop(), nobody waits for an answer.
    if (this.stopping || this.status.state === 'stopped') return;
    this.setStatus({ state: 'stopped', modelPath: this.status.modelPath, device: null, error,
      message: `${error}. Restart the app.` });
    for (const resolve of this.pending.values()) resolve({ error, code: 'ERR_STOPPED' });
    this.pending.clear();
  }

  setStatus(status) {
    this.status = status;
    if (!this.stopping) this.webContents.send('status', status);  // after stop() the window may be gone
  }
}

module.exports = { SegmenterBridge, modelPathFromCommandLine };
