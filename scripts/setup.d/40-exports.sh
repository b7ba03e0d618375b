#!/usr/bin/env bash
# Graph exports: Graphviz (the tests render every DOT file with the real `dot`), and the Gephi
# checker (tests/exports/gephi-check: Gephi's own importer from org.gephi:gephi-toolkit, built
# once with Maven so test runs need no network). Idempotent; quick when already done.
set -euo pipefail

apt_need=()
command -v dot >/dev/null 2>&1 || apt_need+=(graphviz)
command -v java >/dev/null 2>&1 || apt_need+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null 2>&1 || apt_need+=(maven)
if [ ${#apt_need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo -n"
  export DEBIAN_FRONTEND=noninteractive
  flock /tmp/apt.lock $SUDO apt-get update -qq
  flock /tmp/apt.lock $SUDO apt-get install -y -qq --no-install-recommends "${apt_need[@]}" >/dev/null
  echo "installed: ${apt_need[*]}" >&2
fi

check=tests/exports/gephi-check
stamp="$check/target/.built"
src_newest=$(find "$check/pom.xml" "$check/src" -type f -newer "$stamp" 2>/dev/null | head -1 || true)
if [ -f "$stamp" ] && [ -z "$src_newest" ] && ls "$check"/target/lib/*.jar >/dev/null 2>&1; then
  exit 0
fi
echo "building the Gephi checker (gephi-toolkit 0.10.1, first time downloads ~80 MB)" >&2
mvn -q -B -f "$check/pom.xml" compile >&2
touch "$stamp"
