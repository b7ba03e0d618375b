#!/usr/bin/env bash
# The report's tests: pdftotext (poppler-utils) reads the PDF that headless Chromium prints
# (chromium itself comes from 50-web.sh). Test mode only; quick when already installed.
set -euo pipefail
[ "${GRAPHFLOW_SETUP_MODE:-test}" = "test" ] || exit 0
command -v pdftotext >/dev/null 2>&1 && exit 0
export DEBIAN_FRONTEND=noninteractive
sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo -n"
if ! $sudo flock /tmp/apt.lock apt-get install -y -qq --no-install-recommends poppler-utils >/dev/null; then
  $sudo flock /tmp/apt.lock apt-get update -qq
  $sudo flock /tmp/apt.lock apt-get install -y -qq --no-install-recommends poppler-utils >/dev/null
fi
exit 0
