locals {
  kubelet_unit = templatefile("${path.module}/templates/kubelet.service.tpl", {
    runtime      = var.container_runtime
    cluster_dns  = var.cluster_dns
  })
}

resource "aws_launch_template" "workers" {
  name_prefix   = "${var.cluster_name}-workers-"
  image_id      = var.ami_id
  instance_type = var.instance_type

  user_data = base64encode(<<-EOF
    #!/bin/bash
    set -euo pipefail
    apt-get update
    apt-get install -y docker.io
    systemctl enable --now docker
    cat > /etc/systemd/system/kubelet.service <<'UNIT'
    ${local.kubelet_unit}
    UNIT
    echo 'KUBELET_EXTRA_ARGS=--network-plugin=cni --container-runtime=docker' > /etc/default/kubelet
    systemctl daemon-reload
    systemctl enable --now kubelet
  EOF
  )

  tag_specifications {
    resource_type = "instance"
    tags = {
      "kubernetes.io/cluster/${var.cluster_name}" = "owned"
    }
  }
}
