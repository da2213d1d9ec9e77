#!/usr/bin/env bash
# What we used to do with `docker ps` / `docker logs`, with the CRI tools.
set -euo pipefail
crictl ps -a
crictl logs --tail 200 "$(crictl ps -q --name "${1:?container name}")"
nerdctl --namespace k8s.io images
