output "vpc_id" {
  value = aws_vpc.this.id
}

output "sfu_autoscaling_group" {
  description = "The SFU group; its nodes register with the edge as <name>-sfu-<instance id>."
  value       = aws_autoscaling_group.sfu.name
}

output "turn_nodes" {
  description = "TURN nodes: edge node id, public (Elastic) IP, the DNS name to point at it (null: none given), private IP, instance id."
  value = {
    for key, node in local.turn_nodes : key => {
      node_id     = node.node_id
      public_ip   = aws_eip.turn[key].public_ip
      hostname    = lookup(var.turn_hostnames, key, null)
      private_ip  = node.private_ip
      instance_id = aws_instance.turn[key].id
    }
  }
  precondition {
    # A name for a node that does not exist is a typo or a turn_count cut short: its
    # DNS record would point at an address nothing serves.
    condition     = alltrue([for k in keys(var.turn_hostnames) : contains(keys(local.turn_nodes), k)])
    error_message = "turn_hostnames names a TURN node this region does not have (keys run turn-00 to turn-NN for turn_count nodes)."
  }
}

output "turn_urls" {
  description = "ICE server URLs for this region's TURN nodes, exactly what their agents register with the edge: turn: on each Elastic IP, turns: under each hostname (with turn_tls)."
  value       = flatten([for key in keys(local.turn_nodes) : module.bootstrap.turn_urls[key]])
}

output "firewall" {
  description = "The inbound rules opened, per role (from ports.json)."
  value       = module.bootstrap.firewall
}
