variable "cluster_name" {
  type = string
}

variable "container_runtime" {
  type        = string
  default     = "docker"
  description = "Runtime the kubelet talks to"
}

variable "cluster_dns" {
  type    = string
  default = "10.96.0.10"
}

variable "ami_id" {
  type = string
}

variable "instance_type" {
  type    = string
  default = "m5.large"
}
