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
      "webrtc-udp" = ["udp", 40000, 40031, "0.0.0.0/0"]
      "webrtc-tcp" = ["tcp", 40000, 40031, "0.0.0.0/0"]
      "metrics"    = ["tcp", 9310, 9310, "10.40.0.0/16"]
    }
    error_message = "SFU rules must be the RTC range to all and metrics to the VPC"
  }
  assert {
    condition = { for k, r in aws_vpc_security_group_ingress_rule.turn : k => [r.ip_protocol, r.from_port, r.to_port, r.cidr_ipv4] } == {
      "turn-udp"  = ["udp", 3478, 3478, "0.0.0.0/0"]
      "turn-tcp"  = ["tcp", 3478, 3478, "0.0.0.0/0"]
      "turns"     = ["tcp", 5349, 5349, "0.0.0.0/0"]
      "turns-alt" = ["tcp", 443, 443, "0.0.0.0/0"]
      "relay-udp" = ["udp", 49160, 49999, "0.0.0.0/0"]
    }
    error_message = "TURN rules must be its listeners and the UDP relay range"
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
    condition     = contains(output.turn_urls, "turn:198.51.100.20:3478?transport=udp") && contains(output.turn_urls, "turns:198.51.100.20:443?transport=tcp")
    error_message = "TURN URLs name the Elastic IP on the ports.json ports"
  }
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
