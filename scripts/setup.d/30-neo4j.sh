#!/usr/bin/env bash
# Neo4j without Docker: Java 17 + Maven, then build docker/neo4j-launcher once. The first build
# downloads Neo4j Community 5.26 from Maven Central into ~/.m2 (~200 MB, about a minute); later
# runs do nothing when the jar is newer than its sources, and rebuild offline (-o) otherwise.
set -euo pipefail
cd "$(dirname "$0")/../.."

if ! command -v javac >/dev/null || ! command -v java >/dev/null; then
  flock /tmp/apt.lock apt-get update -qq
  flock /tmp/apt.lock apt-get install -y -qq --no-install-recommends openjdk-17-jdk-headless
fi
if ! command -v mvn >/dev/null; then
  flock /tmp/apt.lock apt-get update -qq
  flock /tmp/apt.lock apt-get install -y -qq --no-install-recommends maven
fi

project=docker/neo4j-launcher
jar=$project/target/graphflow-neo4j-launcher.jar
if [ -f "$jar" ] && [ -d "$project/target/lib" ] \
   && [ -z "$(find "$project/pom.xml" "$project/src" -newer "$jar" -print -quit)" ]; then
  exit 0
fi
echo "building the Neo4j launcher ($project)" >&2
( cd "$project" && { mvn -q -B -Dstyle.color=never -o package 2>/dev/null || mvn -q -B -Dstyle.color=never package; } )
test -f "$jar"
