"""TensorBoard's own reader on dmdlk's event files (lib/cli/event-file.ts).

    python test/reference/read_tensorboard.py EVENT_FILE_OR_FOLDER [OUT.json]

Reads the file (or every event file of a folder) with TensorBoard's
EventAccumulator, the loader `tensorboard --logdir` uses, and prints, or
writes to OUT.json, what it found: every scalar series (tag -> [step,
value]) and every image (tag -> [step, width, height, PNG bytes]), with
the file version. test/fixtures/tensorboard/read-by-tensorboard.json is
this script's reading of the committed fixture; test/js/event-file.test.ts
checks our writer against both. Needs the tensorboard package (in the
virtualenv of ../shared/tools/torch-venv.sh).
"""
import json
import sys

from tensorboard.backend.event_processing import event_accumulator

accumulator = event_accumulator.EventAccumulator(sys.argv[1], size_guidance={"scalars": 0, "images": 0})
accumulator.Reload()
tags = accumulator.Tags()
reading = {
    "file_version": accumulator.file_version,
    "scalars": {t: [[e.step, e.value] for e in accumulator.Scalars(t)] for t in sorted(tags["scalars"])},
    "images": {
        t: [[e.step, e.width, e.height, len(e.encoded_image_string)] for e in accumulator.Images(t)]
        for t in sorted(tags["images"])
    },
}
text = json.dumps(reading, indent=1, sort_keys=True) + "\n"
if len(sys.argv) > 2:
    open(sys.argv[2], "w").write(text)
else:
    sys.stdout.write(text)
