output "vpc_id" {
  value = aws_vpc.this.id
}

output "sfu_autoscaling_group" {
  description = "The SFU group; its nodes register with the edge as <name>-sfu-<instance id>."
  value       = aws_autoscaling_group.sfu.name
}

output "turn_nodes" {
  description = "TURN nodes: edge node id, public (Elastic) IP, private IP, instance id."
  value = {
    for key, node in local.turn_nodes : key => {
      node_id     = node.node_id
      public_ip   = aws_eip.turn[key].public_ip
      private_ip  = node.private_ip
      instance_id = aws_instance.turn[key].id
    }
  }
}

output "turn_urls" {
  description = "ICE server URLs for this region's TURN nodes (the edge hands these out with minted credentials)."
  value = flatten([
    for key, node in local.turn_nodes : [
      "turn:${aws_eip.turn[key].public_ip}:${module.bootstrap.ports.turn.listeningPort}?transport=udp",
      "turn:${aws_eip.turn[key].public_ip}:${module.bootstrap.ports.turn.listeningPort}?transport=tcp",
      "turns:${aws_eip.turn[key].public_ip}:${module.bootstrap.ports.turn.altTlsListeningPort}?transport=tcp",
    ]
  ])
}

output "firewall" {
  description = "The inbound rules opened, per role (from ports.json)."
  value       = module.bootstrap.firewall
}
