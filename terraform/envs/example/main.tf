# Three regions, one module call each; every region gets its own VPC, SFU autoscaling
# group and TURN nodes, all registering with the same edge.

locals {
  common = {
    edge_url                 = var.edge_url
    node_secret              = var.node_secret
    source_repository        = var.source_repository
    source_ref               = var.source_ref
    turn_static_auth_secrets = var.turn_static_auth_secrets
    turn_tls                 = var.turn_tls
    sfu_capacity             = var.sfu_capacity
    turn_count               = var.turn_count
    tags                     = { "meridian:env" = "example" }
  }
}

module "eu" {
  source    = "../../modules/aws-region"
  providers = { aws = aws.eu }

  name        = "meridian-eu"
  node_region = "eu-central-1"
  location    = { lat = 50.11, lon = 8.68 } # Frankfurt
  vpc_cidr    = "10.40.0.0/16"

  edge_url                 = local.common.edge_url
  node_secret              = local.common.node_secret
  source_repository        = local.common.source_repository
  source_ref               = local.common.source_ref
  turn_static_auth_secrets = local.common.turn_static_auth_secrets
  turn_tls                 = local.common.turn_tls
  sfu_capacity             = local.common.sfu_capacity
  turn_count               = local.common.turn_count
  turn_hostnames           = lookup(var.turn_hostnames, "eu-central-1", {})
  tags                     = local.common.tags
}

module "us" {
  source    = "../../modules/aws-region"
  providers = { aws = aws.us }

  name        = "meridian-us"
  node_region = "us-east-1"
  location    = { lat = 38.95, lon = -77.45 } # Northern Virginia
  vpc_cidr    = "10.41.0.0/16"

  edge_url                 = local.common.edge_url
  node_secret              = local.common.node_secret
  source_repository        = local.common.source_repository
  source_ref               = local.common.source_ref
  turn_static_auth_secrets = local.common.turn_static_auth_secrets
  turn_tls                 = local.common.turn_tls
  sfu_capacity             = local.common.sfu_capacity
  turn_count               = local.common.turn_count
  turn_hostnames           = lookup(var.turn_hostnames, "us-east-1", {})
  tags                     = local.common.tags
}

module "ap" {
  source    = "../../modules/aws-region"
  providers = { aws = aws.ap }

  name        = "meridian-ap"
  node_region = "ap-southeast-1"
  location    = { lat = 1.35, lon = 103.82 } # Singapore
  vpc_cidr    = "10.42.0.0/16"

  edge_url                 = local.common.edge_url
  node_secret              = local.common.node_secret
  source_repository        = local.common.source_repository
  source_ref               = local.common.source_ref
  turn_static_auth_secrets = local.common.turn_static_auth_secrets
  turn_tls                 = local.common.turn_tls
  sfu_capacity             = local.common.sfu_capacity
  turn_count               = local.common.turn_count
  turn_hostnames           = lookup(var.turn_hostnames, "ap-southeast-1", {})
  tags                     = local.common.tags
}
