# Sourced by the bench scripts: sets $python to the first Python with PyTorch,
# $DMDLK_PYTHON if set, else python3 on the PATH (the GPU machine's
# virtualenv), else Debian's /usr/bin/python3 (python3-torch, on the CI image).
python=
for candidate in ${DMDLK_PYTHON:-} python3 /usr/bin/python3; do
  if "$candidate" -c "import torch" 2>/dev/null; then python=$candidate; break; fi
done
if [ -z "$python" ]; then
  echo "no Python with PyTorch found (tried \$DMDLK_PYTHON, python3, /usr/bin/python3)" >&2
  exit 1
fi
