# Needs the AWS provider's schema (a local plugin mirror; see scripts/check-infra.sh),
# never AWS itself: the provider is mocked, so plan and apply only evaluate.

mock_provider "aws" {
  mock_data "aws_availability_zones" {
    defaults = {
      names = ["eu-central-1a", "eu-central-1b", "eu-central-1c"]
    }
  }
  mock_data "aws_iam_policy_document" {
    defaults = {
      json = "{}"
    }
  }
  mock_data "aws_partition" {
    defaults = {
      partition = "aws"
    }
  }
  mock_resource "aws_eip" {
    defaults = {
      public_ip = "198.51.100.20"
    }
  }
  mock_resource "aws_launch_template" {
    defaults = {
      id             = "lt-0123456789abcdef0"
      latest_version = 1
    }
  }
  mock_resource "aws_iam_instance_profile" {
    defaults = {
      arn = "arn:aws:iam::123456789012:instance-profile/test"
    }
  }
}

variables {
  name                     = "meridian-eu"
  node_region              = "eu-central-1"
  location                 = { lat = 50.11, lon = 8.68 }
  vpc_cidr                 = "10.40.0.0/16"
  edge_url                 = "https://meridian.example.workers.dev"
  node_secret              = "test-node-secret-0123456789abcdef-0123"
  source_repository        = "https://git.example.org/meridian.git"
  source_ref               = "v0.1.0"
  turn_static_auth_secrets = ["turn-secret-current-0123456789abcdef"]
  turn_tls                 = null
  ami_id                   = "ami-0123456789abcdef0"
  turn_count               = 3
}

run "security_groups_follow_ports_json" {
  command = apply

  assert {
    condition = { for k, r in aws_vpc_security_group_ingress_rule.sfu : k => [r.ip_protocol, r.from_port, r.to_port, r.cidr_ipv4] } == {
      "webrtc-udp 0.0.0.0/0" = ["udp", 40000, 40031, "0.0.0.0/0"]
      "webrtc-tcp 0.0.0.0/0" = ["tcp", 40000, 40031, "0.0.0.0/0"]
      "metrics 10.40.0.0/16" = ["tcp", 9310, 9310, "10.40.0.0/16"]
      "pipe-udp 0.0.0.0/0"   = ["udp", 41000, 41999, "0.0.0.0/0"]
    }
    error_message = "SFU rules must be the RTC range to all, metrics to the VPC, and pipes from the SFU peers (any by default)"
  }
  assert {
    condition = { for k, r in aws_vpc_security_group_ingress_rule.turn : k => [r.ip_protocol, r.from_port, r.to_port, r.cidr_ipv4] } == {
      "turn-udp 0.0.0.0/0"   = ["udp", 3478, 3478, "0.0.0.0/0"]
      "turn-tcp 0.0.0.0/0"   = ["tcp", 3478, 3478, "0.0.0.0/0"]
      "turns 0.0.0.0/0"      = ["tcp", 5349, 5349, "0.0.0.0/0"]
      "turns-alt 0.0.0.0/0"  = ["tcp", 443, 443, "0.0.0.0/0"]
      "relay-udp 0.0.0.0/0"  = ["udp", 49160, 49999, "0.0.0.0/0"]
      "metrics 10.40.0.0/16" = ["tcp", 9641, 9641, "10.40.0.0/16"]
    }
    error_message = "TURN rules must be its listeners, the UDP relay range, and metrics to the VPC"
  }
}

run "pipes_only_from_listed_sfu_peers" {
  command = apply

  variables {
    pipe_peer_cidrs = ["198.51.100.0/24", "203.0.113.0/24"]
  }

  assert {
    condition = { for k, r in aws_vpc_security_group_ingress_rule.sfu : k => [r.ip_protocol, r.from_port, r.to_port, r.cidr_ipv4] if r.from_port == 41000 } == {
      "pipe-udp 198.51.100.0/24" = ["udp", 41000, 41999, "198.51.100.0/24"]
      "pipe-udp 203.0.113.0/24"  = ["udp", 41000, 41999, "203.0.113.0/24"]
    }
    error_message = "with pipe_peer_cidrs, the pipe range opens to those ranges and nothing else"
  }
}

run "turn_nodes_spread_with_fixed_private_addresses" {
  command = apply

  assert {
    condition     = [for k in sort(keys(aws_instance.turn)) : aws_instance.turn[k].private_ip] == ["10.40.0.10", "10.40.1.10", "10.40.0.11"]
    error_message = "TURN nodes alternate over the two default zones, one fixed address after another"
  }
  assert {
    condition     = length(aws_eip_association.turn) == 3 && output.turn_nodes["turn-01"].node_id == "meridian-eu-turn-01"
    error_message = "every TURN node gets an Elastic IP and a node id"
  }
  assert {
    condition     = contains(output.turn_urls, "turn:198.51.100.20:3478?transport=udp") && contains(output.turn_urls, "turn:198.51.100.20:3478?transport=tcp") && length(output.turn_urls) == 6
    error_message = "TURN URLs name the Elastic IP on the ports.json ports, UDP and TCP per node"
  }
  assert {
    condition     = length([for u in output.turn_urls : u if startswith(u, "turns:")]) == 0
    error_message = "without turn_tls (a self-signed placeholder) no turns: URL is handed out"
  }
}

run "turns_urls_name_the_hostnames" {
  command = apply
  variables {
    turn_hostnames = { "turn-01" = "turn-01.eu.example.org" }
    # Placeholders in PEM armour: not a certificate, not a key.
    turn_tls = {
      certificate_pem = "-----BEGIN CERTIFICATE-----\nTEST-ONLY-NOT-A-CERTIFICATE\n-----END CERTIFICATE-----\n"
      private_key_pem = "-----BEGIN PRIVATE KEY-----\nTEST-ONLY-NOT-A-KEY\n-----END PRIVATE KEY-----\n"
    }
  }
  assert {
    condition     = [for u in output.turn_urls : u if startswith(u, "turns:")] == ["turns:turn-01.eu.example.org:443?transport=tcp"]
    error_message = "turns: is handed out under the node's hostname, and only for nodes that have one"
  }
  assert {
    condition     = output.turn_urls == flatten([for k in ["turn-00", "turn-01", "turn-02"] : module.bootstrap.turn_urls[k]])
    error_message = "the region's TURN URLs are exactly what each node's agent registers"
  }
  assert {
    condition     = output.turn_nodes["turn-01"].hostname == "turn-01.eu.example.org" && output.turn_nodes["turn-00"].hostname == null
    error_message = "the node list shows which DNS name to point at which Elastic IP"
  }
}

run "refuses_a_hostname_for_a_missing_node" {
  command = plan
  variables {
    turn_hostnames = { "turn-03" = "turn-03.eu.example.org" }
  }
  expect_failures = [output.turn_nodes]
}

run "sfu_scale_in_waits_for_the_drain" {
  command = apply

  assert {
    condition = alltrue([
      aws_autoscaling_lifecycle_hook.sfu_drain.autoscaling_group_name == aws_autoscaling_group.sfu.name,
      aws_autoscaling_lifecycle_hook.sfu_drain.lifecycle_transition == "autoscaling:EC2_INSTANCE_TERMINATING",
      aws_autoscaling_lifecycle_hook.sfu_drain.default_result == "CONTINUE",
    ])
    error_message = "the SFU group holds terminating instances in a hook that, when it runs out, lets them go"
  }
  assert {
    # 600 s drain + 30 s until systemd kills + 60 s for the 5 s poll and IMDS's lag.
    condition     = aws_autoscaling_lifecycle_hook.sfu_drain.heartbeat_timeout == 690 && aws_autoscaling_lifecycle_hook.sfu_drain.heartbeat_timeout > module.bootstrap.sfu_shutdown.stop_timeout_s + module.bootstrap.sfu_shutdown.lifecycle_poll_s
    error_message = "the hook must hold an instance past the node's whole stop (drain, kill margin) and one poll"
  }
  assert {
    condition     = aws_autoscaling_lifecycle_hook.sfu_drain.notification_target_arn == null && aws_autoscaling_lifecycle_hook.sfu_drain.role_arn == null
    error_message = "the hook needs no notification target or role: the heartbeat timing out completes it"
  }
  assert {
    condition     = strcontains(module.bootstrap.sfu_user_data, "systemctl enable --now meridian-sfu-lifecycle.timer") && strcontains(module.bootstrap.sfu_user_data, "target-lifecycle-state")
    error_message = "SFU nodes must run the lifecycle watcher that turns the hook into a drain"
  }
}

run "shorter_drain_shorter_hook" {
  command = apply
  variables {
    sfu_drain_timeout_s = 120
  }
  assert {
    condition     = aws_autoscaling_lifecycle_hook.sfu_drain.heartbeat_timeout == 210 && strcontains(module.bootstrap.sfu_user_data, "DRAIN_TIMEOUT_MS=120000\n")
    error_message = "the drain timeout reaches the nodes, and the hook follows it"
  }
}

run "refuses_a_drain_no_hook_can_wait_for" {
  command = plan
  variables {
    sfu_drain_timeout_s = 7111
  }
  expect_failures = [var.sfu_drain_timeout_s]
}

run "sfu_group_scales_on_cpu" {
  command = apply

  assert {
    condition     = aws_autoscaling_policy.sfu_cpu.target_tracking_configuration[0].predefined_metric_specification[0].predefined_metric_type == "ASGAverageCPUUtilization"
    error_message = "the SFU group tracks average CPU"
  }
  assert {
    condition     = aws_launch_template.sfu.metadata_options[0].http_tokens == "required" && aws_launch_template.turn.metadata_options[0].http_tokens == "required"
    error_message = "IMDSv2 is required on every node"
  }
}

run "no_ssm_no_permissions" {
  command = plan
  variables {
    enable_ssm = false
  }
  assert {
    condition     = length(aws_iam_role_policy_attachment.ssm) == 0
    error_message = "without SSM the node role has no policy at all"
  }
}
