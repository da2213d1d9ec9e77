#!/usr/bin/env bash
# Final step of the runtime migration (PLAT-2231): cri-dockerd and Docker Engine are gone.
set -euo pipefail
systemctl disable --now cri-docker.service cri-docker.socket || true
apt-get purge -y cri-dockerd docker-ce docker-ce-cli
rm -rf /var/lib/docker /etc/docker
crictl info >/dev/null
echo "docker removed; runtime is $(crictl version | awk '/RuntimeName/ {print $2}')"
