"""onnx.checker (full check: schemas and shape inference) on exported ONNX files.

    python3 test/reference/check_onnx.py FILE.onnx ...

The files come from `dmdlk export` or DMDLKNet.exportOnnx (test/gpu/pack-for-device.sh
writes a set into .device/onnx/). ONNX's DeformConv needs opset 19, which the
checker knows from onnx 1.14 on; with an older onnx, or none, this says so and
checks nothing (Debian's python3-onnx is 1.12). Exit status 1 if a file fails.
"""
import sys

try:
    import onnx
except ImportError:
    print("skipped: Python's onnx is not installed")
    sys.exit(0)

version = tuple(int(p) for p in onnx.__version__.split(".")[:2])
if version < (1, 14):
    print(f"skipped: onnx {onnx.__version__} predates opset 19 (DeformConv); the checker needs onnx >= 1.14")
    sys.exit(0)

failed = 0
for path in sys.argv[1:]:
    try:
        onnx.checker.check_model(path, full_check=True)
        model = onnx.load(path)
        print(f"{path}: passes onnx.checker {onnx.__version__} (opset {model.opset_import[0].version}, "
              f"{len(model.graph.node)} nodes, {len(model.graph.initializer)} initializers)")
    except Exception as error:  # the checker's own exception types vary between versions
        failed += 1
        print(f"{path}: FAILS onnx.checker {onnx.__version__}: {error}")
sys.exit(1 if failed else 0)
