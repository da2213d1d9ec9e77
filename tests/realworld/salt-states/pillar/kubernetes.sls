kubernetes:
  lookup:
    version: v1.23.9
    runtime: docker
  pool: batch
  kubelet:
    extra_args:
      - --container-runtime=docker
      - --image-pull-progress-deadline=10m
