// The window: pick an image, show the predicted outline (magenta) and the
// lesion's share. The spinner keeps turning while the model works, because
// the work happens in the main process's worker thread, not here.
'use strict';
const open = document.getElementById('open');
const spinner = document.getElementById('spinner');
const result = document.getElementById('result');

window.segmenter.model().then(({ device, error }) => {
  document.getElementById('model').textContent = error ? `the model did not load: ${error}` : `model ready on ${device}`;
  open.disabled = Boolean(error);
});

open.addEventListener('click', async () => {
  const file = await window.segmenter.open();
  if (!file) return;
  open.disabled = true;
  spinner.style.visibility = 'visible';
  result.textContent = `segmenting ${file}…`;
  const answer = await window.segmenter.segment(file);
  spinner.style.visibility = 'hidden';
  open.disabled = false;
  if (answer.error) {
    result.textContent = `${file}: ${answer.error}`;
    return;
  }
  result.textContent = `${file}: ${answer.width}×${answer.height}, lesion ${(100 * answer.lesionShare).toFixed(1)}% of the image`;
  document.getElementById('overlay').src = `data:image/png;base64,${answer.overlayPng}`;
});
