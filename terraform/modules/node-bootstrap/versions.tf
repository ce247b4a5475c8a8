# Provider-free on purpose: it only renders cloud-init user-data, so `terraform test`
# runs it offline and any cloud module can feed its output to its instances.
terraform {
  required_version = ">= 1.6.0"
}
