{%- from "kubernetes/map.jinja" import kube with context %}

include:
  - docker

kubelet-binary:
  file.managed:
    - name: /usr/local/bin/kubelet
    - source: https://dl.k8s.io/{{ kube.version }}/bin/linux/amd64/kubelet
    - source_hash: {{ kube.kubelet_hash }}
    - mode: '0755'

/etc/default/kubelet:
  file.managed:
    - source: salt://kubernetes/kubelet/files/kubelet.default.jinja
    - template: jinja
    - mode: '0644'
    - context:
        runtime: {{ kube.runtime }}

/etc/systemd/system/kubelet.service.d/20-runtime.conf:
  file.managed:
    - makedirs: True
    - contents: |
        [Service]
        Environment="KUBELET_RUNTIME_ARGS=--container-runtime=docker --docker-endpoint=unix:///var/run/docker.sock"

kubelet:
  service.running:
    - enable: True
    - require:
      - service: docker
    - watch:
      - file: /etc/default/kubelet
      - file: /etc/systemd/system/kubelet.service.d/20-runtime.conf
