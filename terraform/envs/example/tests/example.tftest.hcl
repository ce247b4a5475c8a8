# Needs the AWS provider's schema (a local plugin mirror; see scripts/check-infra.sh),
# never AWS itself: each region's provider is mocked.

mock_provider "aws" {
  alias = "eu"
  mock_data "aws_availability_zones" {
    defaults = { names = ["eu-central-1a", "eu-central-1b"] }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{}" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_ami" {
    defaults = { id = "ami-0123456789abcdef0" }
  }
  mock_resource "aws_launch_template" {
    defaults = { id = "lt-0123456789abcdef0", latest_version = 1 }
  }
  mock_resource "aws_iam_instance_profile" {
    defaults = { arn = "arn:aws:iam::123456789012:instance-profile/test" }
  }
  mock_resource "aws_eip" {
    defaults = { public_ip = "198.51.100.30" }
  }
}

mock_provider "aws" {
  alias = "us"
  mock_data "aws_availability_zones" {
    defaults = { names = ["us-east-1a", "us-east-1b"] }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{}" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_ami" {
    defaults = { id = "ami-0123456789abcdef0" }
  }
  mock_resource "aws_launch_template" {
    defaults = { id = "lt-0123456789abcdef0", latest_version = 1 }
  }
  mock_resource "aws_iam_instance_profile" {
    defaults = { arn = "arn:aws:iam::123456789012:instance-profile/test" }
  }
  mock_resource "aws_eip" {
    defaults = { public_ip = "198.51.100.30" }
  }
}

mock_provider "aws" {
  alias = "ap"
  mock_data "aws_availability_zones" {
    defaults = { names = ["ap-southeast-1a", "ap-southeast-1b"] }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{}" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_ami" {
    defaults = { id = "ami-0123456789abcdef0" }
  }
  mock_resource "aws_launch_template" {
    defaults = { id = "lt-0123456789abcdef0", latest_version = 1 }
  }
  mock_resource "aws_iam_instance_profile" {
    defaults = { arn = "arn:aws:iam::123456789012:instance-profile/test" }
  }
  mock_resource "aws_eip" {
    defaults = { public_ip = "198.51.100.30" }
  }
}

variables {
  edge_url                 = "https://meridian.example.workers.dev"
  source_repository        = "https://git.example.org/meridian.git"
  source_ref               = "v0.1.0"
  node_secret              = "test-node-secret-0123456789abcdef-0123"
  turn_static_auth_secrets = ["turn-secret-current-0123456789abcdef"]
  turn_tls                 = null
  turn_count               = 2
}

run "three_regions_and_every_node_listed" {
  command = apply

  assert {
    condition     = join(",", sort(keys(output.nodes))) == "ap-southeast-1,eu-central-1,us-east-1"
    error_message = "every region is in the node list"
  }
  assert {
    condition     = alltrue([for r in values(output.nodes) : length(r.turn_nodes) == 2])
    error_message = "each region lists its TURN nodes"
  }
  assert {
    condition     = output.nodes["us-east-1"].turn_nodes["turn-01"].node_id == "meridian-us-turn-01" && output.nodes["ap-southeast-1"].sfu_autoscaling_group == "meridian-ap-sfu"
    error_message = "node ids and groups carry the region's name"
  }
}

run "turns_only_where_a_hostname_is_given" {
  command = apply
  variables {
    turn_hostnames = { "eu-central-1" = { "turn-00" = "turn-eu-00.example.org" } }
    # Placeholders in PEM armour: not a certificate, not a key.
    turn_tls = {
      certificate_pem = "-----BEGIN CERTIFICATE-----\nTEST-ONLY-NOT-A-CERTIFICATE\n-----END CERTIFICATE-----\n"
      private_key_pem = "-----BEGIN PRIVATE KEY-----\nTEST-ONLY-NOT-A-KEY\n-----END PRIVATE KEY-----\n"
    }
  }
  assert {
    condition     = [for u in output.turn_urls["eu-central-1"] : u if startswith(u, "turns:")] == ["turns:turn-eu-00.example.org:443?transport=tcp"]
    error_message = "a region's hostnames reach its TURN nodes' turns: URLs"
  }
  assert {
    condition     = length([for u in concat(output.turn_urls["us-east-1"], output.turn_urls["ap-southeast-1"]) : u if startswith(u, "turns:")]) == 0
    error_message = "regions without hostnames advertise no turns: URL"
  }
  assert {
    condition     = output.nodes["eu-central-1"].turn_nodes["turn-00"].hostname == "turn-eu-00.example.org"
    error_message = "the node list says which name belongs to which Elastic IP"
  }
}

run "refuses_hostnames_for_an_unknown_region" {
  command = plan
  variables {
    turn_hostnames = { "eu-west-1" = { "turn-00" = "turn-eu-00.example.org" } }
  }
  expect_failures = [var.turn_hostnames]
}
