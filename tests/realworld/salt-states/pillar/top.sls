base:
  'k8s-*':
    - kubernetes
