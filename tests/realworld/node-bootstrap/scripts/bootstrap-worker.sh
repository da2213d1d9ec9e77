#!/usr/bin/env bash
# Bootstraps a bare-metal worker. Called from the PXE kickstart %post.
set -euo pipefail

CONTAINER_RUNTIME=docker
: "${KUBELET_NETWORK_PLUGIN:=cni}"
RUNTIME_SOCKET="${RUNTIME_SOCKET:-/var/run/dockershim.sock}"

install_runtime() {
  curl -fsSL https://get.docker.com | sh
  systemctl enable --now docker
}

write_kubelet_unit() {
  cat > /etc/systemd/system/kubelet.service <<EOT
[Unit]
Requires=docker.service
[Service]
ExecStart=/usr/bin/kubelet --network-plugin=${KUBELET_NETWORK_PLUGIN} --container-runtime=${CONTAINER_RUNTIME}
EOT
  cat <<'ENV' | sudo tee /etc/default/kubelet
KUBELET_EXTRA_ARGS=--container-runtime-endpoint=unix:///var/run/dockershim.sock
ENV
}

install_runtime
write_kubelet_unit
kubeadm join --cri-socket "${RUNTIME_SOCKET}" --config /etc/kubernetes/join.yaml
