data "aws_ami" "debian" {
  count       = var.ami_id == null ? 1 : 0
  most_recent = true
  owners      = ["136693071363"] # Debian's official cloud images
  filter {
    name   = "name"
    values = ["debian-12-${var.architecture}-*"]
  }
  filter {
    name   = "virtualization-type"
    values = ["hvm"]
  }
}

locals {
  ami_id = var.ami_id != null ? var.ami_id : data.aws_ami.debian[0].id

  # IMDSv2 only, one hop: the services read instance facts; nothing in a container can.
  metadata_options = {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }
}

# ── SFU: one launch template, an autoscaling group tracking CPU ──────────────────────

resource "aws_launch_template" "sfu" {
  name_prefix            = "${var.name}-sfu-"
  image_id               = local.ami_id
  instance_type          = var.sfu_instance_type
  update_default_version = true
  # cloud-init unpacks gzip; AWS limits user-data to 16 KiB.
  user_data = base64gzip(module.bootstrap.sfu_user_data)

  iam_instance_profile {
    arn = aws_iam_instance_profile.node.arn
  }

  network_interfaces {
    associate_public_ip_address = true
    security_groups             = [aws_security_group.sfu.id]
    delete_on_termination       = true
  }

  metadata_options {
    http_endpoint               = local.metadata_options.http_endpoint
    http_tokens                 = local.metadata_options.http_tokens
    http_put_response_hop_limit = local.metadata_options.http_put_response_hop_limit
  }

  block_device_mappings {
    device_name = "/dev/xvda"
    ebs {
      volume_size = 16
      volume_type = "gp3"
      encrypted   = true
    }
  }

  tag_specifications {
    resource_type = "instance"
    tags          = merge(var.tags, { Name = "${var.name}-sfu", "meridian:role" = "sfu" })
  }

  tags = var.tags
}

resource "aws_autoscaling_group" "sfu" {
  name                      = "${var.name}-sfu"
  vpc_zone_identifier       = aws_subnet.public[*].id
  min_size                  = var.sfu_capacity.min
  max_size                  = var.sfu_capacity.max
  desired_capacity          = var.sfu_capacity.desired
  health_check_type         = "EC2"
  health_check_grace_period = 300
  default_instance_warmup   = 300

  launch_template {
    id      = aws_launch_template.sfu.id
    version = aws_launch_template.sfu.latest_version
  }

  # A new launch template version (new code, new secret) rolls the fleet gradually;
  # each replaced node drains first (the termination hook below).
  instance_refresh {
    strategy = "Rolling"
    preferences {
      min_healthy_percentage = 90
    }
  }

  tag {
    key                 = "Name"
    value               = "${var.name}-sfu"
    propagate_at_launch = true
  }

  lifecycle {
    ignore_changes = [desired_capacity]
  }
}

# Scale-in and instance refresh terminate through this hook: the instance waits in
# Terminating:Wait while node-bootstrap's lifecycle timer sees the target state in IMDS and
# stops the SFU unit, which drains. Nothing completes the hook (nodes have no AWS
# permission); the heartbeat running out lets termination go on, so it must outlast
# systemd's stop timeout plus the timer's period and the delay before IMDS shows the new
# state. A separate resource, not an initial_lifecycle_hook: destroy removes it before
# the group, so tearing a region down does not wait out a heartbeat.
locals {
  sfu_termination_heartbeat_s = module.bootstrap.sfu_shutdown.stop_timeout_s + 60
}

resource "aws_autoscaling_lifecycle_hook" "sfu_drain" {
  name                   = "${var.name}-sfu-drain"
  autoscaling_group_name = aws_autoscaling_group.sfu.name
  lifecycle_transition   = "autoscaling:EC2_INSTANCE_TERMINATING"
  heartbeat_timeout      = local.sfu_termination_heartbeat_s
  default_result         = "CONTINUE"

  lifecycle {
    precondition {
      condition     = local.sfu_termination_heartbeat_s <= 7200 && local.sfu_termination_heartbeat_s > module.bootstrap.sfu_shutdown.stop_timeout_s + module.bootstrap.sfu_shutdown.lifecycle_poll_s
      error_message = "the SFU termination hook must outlast the node's stop timeout and poll period, within AWS's 7200 s."
    }
  }
}

resource "aws_autoscaling_policy" "sfu_cpu" {
  name                   = "${var.name}-sfu-cpu"
  autoscaling_group_name = aws_autoscaling_group.sfu.name
  policy_type            = "TargetTrackingScaling"

  target_tracking_configuration {
    predefined_metric_specification {
      predefined_metric_type = "ASGAverageCPUUtilization"
    }
    target_value = var.sfu_cpu_target
  }
}

# ── TURN: fixed instances with Elastic IPs (clients are handed these addresses) ─────

resource "aws_launch_template" "turn" {
  name_prefix            = "${var.name}-turn-"
  image_id               = local.ami_id
  instance_type          = var.turn_instance_type
  update_default_version = true

  iam_instance_profile {
    arn = aws_iam_instance_profile.node.arn
  }

  metadata_options {
    http_endpoint               = local.metadata_options.http_endpoint
    http_tokens                 = local.metadata_options.http_tokens
    http_put_response_hop_limit = local.metadata_options.http_put_response_hop_limit
  }

  block_device_mappings {
    device_name = "/dev/xvda"
    ebs {
      volume_size = 16
      volume_type = "gp3"
      encrypted   = true
    }
  }

  tags = var.tags
}

resource "aws_eip" "turn" {
  for_each = local.turn_nodes
  domain   = "vpc"
  tags     = merge(var.tags, { Name = each.value.node_id })
}

resource "aws_instance" "turn" {
  for_each               = local.turn_nodes
  subnet_id              = aws_subnet.public[each.value.zone_index].id
  private_ip             = each.value.private_ip
  vpc_security_group_ids = [aws_security_group.turn.id]
  # Per-node config (its addresses, its id) is in the user-data: a change replaces the node.
  user_data_base64            = base64gzip(module.bootstrap.turn_user_data[each.key])
  user_data_replace_on_change = true

  launch_template {
    id      = aws_launch_template.turn.id
    version = aws_launch_template.turn.latest_version
  }

  tags = merge(var.tags, { Name = each.value.node_id, "meridian:role" = "turn" })
}

resource "aws_eip_association" "turn" {
  for_each      = local.turn_nodes
  instance_id   = aws_instance.turn[each.key].id
  allocation_id = aws_eip.turn[each.key].id
}
