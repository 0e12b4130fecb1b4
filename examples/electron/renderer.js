// The window: choose a trained model, then an image; show the predicted
// outline (magenta) and the lesion's share. The spinner keeps turning while
// the model works, because the work happens in the main process's worker
// thread, not here. Segmenting is offered only once a model has loaded.
'use strict';
const chooseModel = document.getElementById('choose-model');
const open = document.getElementById('open');
const spinner = document.getElementById('spinner');
const result = document.getElementById('result');

let modelState = 'none';
let segmenting = false;

function updateButtons() {
  chooseModel.disabled = segmenting || modelState === 'loading' || modelState === 'stopped';
  open.disabled = segmenting || modelState !== 'ready';
}

window.segmenter.onStatus((status) => {
  modelState = status.state;
  document.getElementById('model').textContent = status.message;
  updateButtons();
});

chooseModel.addEventListener('click', () => window.segmenter.chooseModel());

open.addEventListener('click', async () => {
  const file = await window.segmenter.chooseImage();
  if (!file) return;
  segmenting = true;
  updateButtons();
  spinner.style.visibility = 'visible';
  result.textContent = `segmenting ${file}…`;
  const answer = await window.segmenter.segment(file);
  segmenting = false;
  updateButtons();
  spinner.style.visibility = 'hidden';
  if (answer.error) {
    result.textContent = `${file}: ${answer.error}${answer.code ? ` [${answer.code}]` : ''}`;
    return;
  }
  result.textContent = `${file}: ${answer.width}×${answer.height}, lesion ${(100 * answer.lesionShare).toFixed(1)}% of the image`;
  document.getElementById('overlay').src = `data:image/png;base64,${answer.overlayPng}`;
});
