#!/bin/bash
yum install -y docker
systemctl enable --now docker
