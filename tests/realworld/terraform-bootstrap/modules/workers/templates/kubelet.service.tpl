[Unit]
Description=Kubernetes kubelet
After=docker.service
Requires=docker.service

[Service]
ExecStart=/usr/bin/kubelet \
  --kubeconfig=/var/lib/kubelet/kubeconfig \
  --container-runtime=${runtime} \
  --network-plugin=cni \
  --cluster-dns=${cluster_dns}
Restart=on-failure

[Install]
WantedBy=multi-user.target
