#!/bin/sh
# Installs what the test suites need beyond Node and npm when it is missing, from Debian's
# archive only: chromium for the playground's end-to-end test (a browser is never downloaded any
# other way), python3-torch for the PyTorch reference of `attend import` (a slow generic-BLAS
# build, fine for the tiny test models), and sentencepiece (spm_train) for the e2e test that
# matches a real SentencePiece model's tokenizer.json against transformers.js. `npm test` and
# .ci/run call it; when everything is there it does nothing.
# Usage: scripts/ensure-test-deps.sh [CHROMIUM] [PYTHON]
#   (the browser checked, default /usr/bin/chromium; the python that must import torch, default /usr/bin/python3)
set -eu
chromium="${1:-/usr/bin/chromium}"
python="${2:-/usr/bin/python3}"
missing=""
if [ ! -x "$chromium" ]; then missing="chromium"; fi
if ! "$python" -c 'import torch' >/dev/null 2>&1; then missing="$missing python3-torch"; fi
if ! command -v spm_train >/dev/null 2>&1; then missing="$missing sentencepiece"; fi
missing="${missing# }"
if [ -z "$missing" ]; then exit 0; fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-test-deps: $missing missing and there is no apt-get; install them (the playground's end-to-end test drives chromium, the import tests compare with torch, a tokenizer test trains a SentencePiece model)" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "ensure-test-deps: installing Debian's $missing" >&2
$sudo apt-get update
# shellcheck disable=SC2086 # one word per package
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y $missing
