#!/usr/bin/env bash
# Flow tools the reader tests use to make their fixtures from the pcaps in ../shared/datasets:
# nfdump (nfdump, nfcapd, nfpcapd), softflowd, argus (server: pcap -> argus records) and
# argus-client (ra), tshark. Non-interactive; quick when everything is already there.
set -euo pipefail

# the readers themselves need none of these: only the tests that make fixtures with them
[ "${GRAPHFLOW_SETUP_MODE:-test}" = "test" ] || exit 0

need=()
command -v nfdump >/dev/null 2>&1 || need+=(nfdump)
command -v softflowd >/dev/null 2>&1 || need+=(softflowd)
command -v ra >/dev/null 2>&1 || need+=(argus-client)
command -v argus >/dev/null 2>&1 || need+=(argus-server)
command -v tshark >/dev/null 2>&1 || need+=(tshark)
command -v editcap >/dev/null 2>&1 || need+=(wireshark-common)
[ ${#need[@]} -eq 0 ] && exit 0

SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo -n"
export DEBIAN_FRONTEND=noninteractive
# tshark's postinst asks whether non-root users may capture: answer "no" beforehand.
echo "wireshark-common wireshark-common/install-setuid boolean false" | $SUDO debconf-set-selections
if ! $SUDO apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null; then
  $SUDO apt-get update -q >/dev/null
  $SUDO apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null
fi
# the Debian packages start daemons we do not want (argus, nfdump's nfcapd service)
for svc in argus-server nfdump softflowd; do
  if command -v systemctl >/dev/null 2>&1; then $SUDO systemctl disable --now "$svc" >/dev/null 2>&1 || true; fi
done
echo "installed: ${need[*]}" >&2
