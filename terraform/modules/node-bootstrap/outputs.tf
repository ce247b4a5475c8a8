output "sfu_user_data" {
  description = "cloud-init user-data for SFU nodes (one for the whole autoscaling group)."
  value       = local.sfu_user_data
  sensitive   = true
}

output "turn_user_data" {
  description = "cloud-init user-data per TURN node, keyed like var.turn_nodes."
  value       = local.turn_user_data
  sensitive   = true
}

output "turnserver_conf" {
  description = "The rendered coturn configuration per TURN node (inside turn_user_data too)."
  value       = local.turnserver_conf
  sensitive   = true
}

output "firewall" {
  description = "Inbound rules each role needs, derived from ports.json: { sfu, turn } lists of { name, protocol, from_port, to_port, source = any | vpc }."
  value       = local.firewall
}

output "ports" {
  description = "ports.json as read."
  value       = local.ports
}

output "files" {
  description = "Files each role's user-data writes, with their modes (no contents): what the tests check secrets against."
  value = {
    sfu  = [for f in local.sfu_cloud_config.write_files : { path = f.path, permissions = f.permissions }]
    turn = { for name, config in local.turn_cloud_config : name => [for f in config.write_files : { path = f.path, permissions = f.permissions }] }
  }
}
