output "nodes" {
  description = "Every node by region: the SFU autoscaling group (its nodes name themselves <name>-sfu-<instance id>) and each TURN node."
  value = {
    for region, m in { "eu-central-1" = module.eu, "us-east-1" = module.us, "ap-southeast-1" = module.ap } : region => {
      sfu_autoscaling_group           = m.sfu_autoscaling_group
      turn_nodes                      = m.turn_nodes
    }
  }
}

output "turn_urls" {
  description = "Every region's TURN URLs, for the edge's TURN configuration."
  value = {
    "eu-central-1"   = module.eu.turn_urls
    "us-east-1"      = module.us.turn_urls
    "ap-southeast-1" = module.ap.turn_urls
  }
}
