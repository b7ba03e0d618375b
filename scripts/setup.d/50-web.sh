#!/usr/bin/env bash
# The web UI's front end and its browser tests.
#  * npm packages (cytoscape + fcose/dagre layouts + svg export, chart.js) from the npm registry
#    into web/frontend/node_modules (pinned by web/frontend/package-lock.json), then copied into
#    web/static/vendor/, which the server serves itself: no CDN, the UI works offline.
#  * test mode only: Debian's chromium + chromium-driver for the Selenium tests in tests/web/.
# Idempotent and quick when everything is in place. Neither node_modules nor the vendor copies
# are committed (see .gitignore).
set -euo pipefail
cd "$(dirname "$0")/../.."
FRONT=web/frontend
VENDOR=web/static/vendor

apt_install() {  # apt_install COMMAND PACKAGE...
  local cmd=$1; shift
  command -v "$cmd" >/dev/null 2>&1 && return 0
  export DEBIAN_FRONTEND=noninteractive
  local sudo=""
  [ "$(id -u)" -ne 0 ] && sudo="sudo -n"
  if ! $sudo flock /tmp/apt.lock apt-get install -y -qq --no-install-recommends "$@" >/dev/null; then
    $sudo flock /tmp/apt.lock apt-get update -qq
    $sudo flock /tmp/apt.lock apt-get install -y -qq --no-install-recommends "$@" >/dev/null
  fi
}

# ---- npm packages --------------------------------------------------------------------------
apt_install npm npm
stamp="$FRONT/node_modules/.graphflow-stamp"
want="$(sha256sum "$FRONT/package.json" "$FRONT/package-lock.json" | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "npm: installing the web front end's packages" >&2
  (cd "$FRONT" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$want" > "$stamp"
fi

# ---- vendor copies (what the pages load) ---------------------------------------------------
NM="$FRONT/node_modules"
declare -A FILES=(
  [cytoscape.min.js]="$NM/cytoscape/dist/cytoscape.min.js"
  [layout-base.js]="$NM/layout-base/layout-base.js"
  [cose-base.js]="$NM/cose-base/cose-base.js"
  [cytoscape-fcose.js]="$NM/cytoscape-fcose/cytoscape-fcose.js"
  [cytoscape-dagre.min.js]="$NM/cytoscape-dagre/dist/cytoscape-dagre.min.js"
  [cytoscape-svg.js]="$NM/cytoscape-svg/cytoscape-svg.js"
  [chart.umd.min.js]="$NM/chart.js/dist/chart.umd.min.js"
)
mkdir -p "$VENDOR"
for name in "${!FILES[@]}"; do
  src="${FILES[$name]}"
  [ -f "$src" ] || { echo "50-web: missing $src (npm install failed?)" >&2; exit 1; }
  cmp -s "$src" "$VENDOR/$name" || cp "$src" "$VENDOR/$name"
done

# ---- headless browser for tests/web (test mode only) ----------------------------------------
if [ "${GRAPHFLOW_SETUP_MODE:-test}" = "test" ]; then
  apt_install chromium chromium
  apt_install chromedriver chromium-driver
fi
exit 0
