docker-repo:
  pkgrepo.managed:
    - humanname: Docker CE
    - name: deb [arch=amd64] https://download.docker.com/linux/ubuntu {{ grains['oscodename'] }} stable
    - file: /etc/apt/sources.list.d/docker.list
    - key_url: https://download.docker.com/linux/ubuntu/gpg

docker-ce:
  pkg.installed:
    - version: 5:20.10.17~3-0~ubuntu-focal
    - require:
      - pkgrepo: docker-repo

/etc/docker/daemon.json:
  file.serialize:
    - formatter: json
    - dataset:
        exec-opts: ["native.cgroupdriver=systemd"]
        log-driver: json-file
        registry-mirrors: ["https://mirror.internal.acme"]

docker:
  service.running:
    - enable: True
    - require:
      - pkg: docker-ce
