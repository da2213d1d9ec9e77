#!/usr/bin/env bash
set -e
docker run -d --name registry -p 5000:5000 registry:2
docker build -t localhost:5000/containerkit-test ./testdata
docker push localhost:5000/containerkit-test
