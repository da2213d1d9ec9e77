resource "local_file" "rke_cluster" {
  filename = "${path.root}/cluster.yml"
  content = templatefile("${path.module}/templates/cluster.yml.tpl", {
    cluster_name       = var.cluster_name
    kubernetes_version = "v1.23.16-rancher2-2"
    ssh_user           = "rancher"
    controlplane_ips   = var.controlplane_ips
    worker_ips         = var.worker_ips
  })
}
