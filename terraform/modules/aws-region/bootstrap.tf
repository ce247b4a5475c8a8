# Everything that is not AWS lives in node-bootstrap: user-data for both roles and the
# ports each role listens on. This module only turns them into AWS resources.

locals {
  zones = length(var.availability_zones) > 0 ? var.availability_zones : slice(data.aws_availability_zones.available.names, 0, 2)

  # Fixed private addresses for TURN nodes: coturn's config is rendered at plan time and
  # names the address it binds (external-ip = public/private).
  turn_nodes = {
    for i in range(var.turn_count) : format("turn-%02d", i) => {
      node_id    = format("%s-turn-%02d", var.name, i)
      zone_index = i % length(local.zones)
      private_ip = cidrhost(aws_subnet.public[i % length(local.zones)].cidr_block, 10 + floor(i / length(local.zones)))
    }
  }

  ssm_agent_install = var.enable_ssm ? [
    "curl -fsSL --retry 5 -o /tmp/amazon-ssm-agent.deb https://s3.${var.node_region}.amazonaws.com/amazon-ssm-${var.node_region}/latest/debian_${var.architecture}/amazon-ssm-agent.deb && dpkg -i /tmp/amazon-ssm-agent.deb && systemctl enable --now amazon-ssm-agent",
  ] : []
}

module "bootstrap" {
  source = "../node-bootstrap"

  region                   = var.node_region
  location                 = var.location
  edge_url                 = var.edge_url
  node_secret              = var.node_secret
  source_repository        = var.source_repository
  source_ref               = var.source_ref
  instance_metadata        = "aws-imdsv2"
  sfu                      = { node_id_prefix = "${var.name}-sfu", drain_timeout_s = var.sfu_drain_timeout_s }
  turn_realm               = var.turn_realm
  turn_static_auth_secrets = var.turn_static_auth_secrets
  turn_tls                 = var.turn_tls
  advertise_turns_on_ip    = var.advertise_turns_on_ip
  # The VPC is private space already denied, unless an operator picks a public block.
  extra_denied_peer_cidrs = [var.vpc_cidr]
  extra_runcmd            = local.ssm_agent_install

  turn_nodes = {
    for key, node in local.turn_nodes : key => {
      node_id    = node.node_id
      public_ip  = aws_eip.turn[key].public_ip
      private_ip = node.private_ip
      hostname   = lookup(var.turn_hostnames, key, null)
    }
  }
}
