cluster_name: ${cluster_name}
kubernetes_version: ${kubernetes_version}
nodes:
%{ for ip in controlplane_ips ~}
  - address: ${ip}
    user: ${ssh_user}
    role: [controlplane, etcd]
    docker_socket: /var/run/docker.sock
%{ endfor ~}
%{ for ip in worker_ips ~}
  - address: ${ip}
    user: ${ssh_user}
    role: [worker]
    docker_socket: /var/run/docker.sock
%{ endfor ~}
network:
  plugin: calico
