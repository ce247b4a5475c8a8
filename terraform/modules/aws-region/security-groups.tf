# Inbound rules come only from node-bootstrap's firewall output, itself derived from
# ports.json: the ports the SFU and coturn listen on, and no others (no SSH: use SSM).

locals {
  # Who each firewall source is: the internet, this VPC, the other SFU nodes (pipes).
  source_cidrs = { any = ["0.0.0.0/0"], vpc = [var.vpc_cidr], sfu = var.pipe_peer_cidrs }
  # One security group rule per firewall rule and source CIDR.
  ingress = {
    for role, rules in module.bootstrap.firewall : role => {
      for pair in flatten([for rule in rules : [for cidr in local.source_cidrs[rule.source] : merge(rule, { cidr = cidr })]]) :
      "${pair.name} ${pair.cidr}" => pair
    }
  }
}

resource "aws_security_group" "sfu" {
  name        = "${var.name}-sfu"
  description = "Meridian SFU nodes: WebRTC from anywhere, pipes from SFU nodes, metrics from the VPC"
  vpc_id      = aws_vpc.this.id
  tags        = merge(var.tags, { Name = "${var.name}-sfu" })
}

resource "aws_security_group" "turn" {
  name        = "${var.name}-turn"
  description = "Meridian TURN nodes: TURN/TURNS listeners and the UDP relay range"
  vpc_id      = aws_vpc.this.id
  tags        = merge(var.tags, { Name = "${var.name}-turn" })
}

resource "aws_vpc_security_group_ingress_rule" "sfu" {
  for_each          = local.ingress.sfu
  security_group_id = aws_security_group.sfu.id
  description       = each.value.name
  ip_protocol       = each.value.protocol
  from_port         = each.value.from_port
  to_port           = each.value.to_port
  cidr_ipv4         = each.value.cidr
  tags              = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "turn" {
  for_each          = local.ingress.turn
  security_group_id = aws_security_group.turn.id
  description       = each.value.name
  ip_protocol       = each.value.protocol
  from_port         = each.value.from_port
  to_port           = each.value.to_port
  cidr_ipv4         = each.value.cidr
  tags              = var.tags
}

# Nodes dial out: to the edge (HTTPS), to package mirrors, to browsers (media), and
# TURN relays to SFU nodes on their public addresses.
resource "aws_vpc_security_group_egress_rule" "all" {
  for_each          = { sfu = aws_security_group.sfu.id, turn = aws_security_group.turn.id }
  security_group_id = each.value
  description       = "all outbound"
  ip_protocol       = "-1"
  cidr_ipv4         = "0.0.0.0/0"
  tags              = var.tags
}
