#!/usr/bin/env bash
# Builds and pushes every variant for a release. Run from a maintainer laptop or the release VM.
set -euo pipefail
version="${1:?usage: hack/release.sh VERSION}"
for dir in */*/; do
  variant="${dir%/}"
  tag="${version}-${variant//\//-}"
  docker buildx build --platform linux/amd64,linux/arm64 -t "acme/tool:${tag}" --push "$dir"
done
docker run --rm "acme/tool:${version}-3.18-alpine" tool --version
