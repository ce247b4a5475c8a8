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

output "turn_urls" {
  description = "URLs per TURN node, keyed like var.turn_nodes (its agent registers them as TURN_URLS): turn: on the public IP over UDP and TCP; turns: on port 443 under the node's hostname, only with turn_tls (or on the IP with advertise_turns_on_ip)."
  value       = local.turn_urls
}

output "sfu_shutdown" {
  description = "How long an SFU node takes to stop, in seconds: drain_timeout_s (rooms may finish), stop_timeout_s (systemd kills after it) and lifecycle_poll_s (how often, with aws-imdsv2, it checks whether autoscaling terminates it). A termination hook must hold an instance longer than stop_timeout_s + lifecycle_poll_s."
  value = {
    drain_timeout_s  = var.sfu.drain_timeout_s
    stop_timeout_s   = local.sfu_stop_timeout_s
    lifecycle_poll_s = local.sfu_lifecycle_watch ? local.sfu_lifecycle_poll_s : null
  }
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
