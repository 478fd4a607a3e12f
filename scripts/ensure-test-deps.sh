#!/bin/sh
# Installs what the test suites need beyond Node and npm when it is missing, from Debian's
# archive only: chromium for the playground's end-to-end test (a browser is never downloaded any
# other way). `npm test` and .ci/run call it; when everything is there it does nothing.
# Usage: scripts/ensure-test-deps.sh [CHROMIUM]   (the browser checked; default /usr/bin/chromium)
set -eu
chromium="${1:-/usr/bin/chromium}"
if [ -x "$chromium" ]; then exit 0; fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "ensure-test-deps: $chromium is missing and there is no apt-get; install chromium (the playground's end-to-end test drives it)" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "ensure-test-deps: $chromium is missing; installing Debian's chromium" >&2
$sudo apt-get update
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y chromium
