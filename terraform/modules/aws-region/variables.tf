# ── Region ─────────────────────────────────────────────────────────────────────────

variable "name" {
  description = "Name prefix for this region's resources, e.g. meridian-eu."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name))
    error_message = "name: 2-31 of [a-z0-9-], starting with a letter."
  }
}

variable "node_region" {
  description = "Region name nodes report to the edge (NODE_REGION); usually the AWS region."
  type        = string
}

variable "location" {
  description = "Latitude/longitude nodes report for placement."
  type        = object({ lat = number, lon = number })
}

variable "vpc_cidr" {
  description = "The region's VPC. Metrics and the exporter are reachable only from here; the TURN relay may never reach it."
  type        = string
  default     = "10.40.0.0/16"
  validation {
    condition     = can(cidrhost(var.vpc_cidr, 0)) && tonumber(split("/", var.vpc_cidr)[1]) <= 20
    error_message = "vpc_cidr: an IPv4 CIDR of /20 or larger (one /24 subnet per zone is carved from it)."
  }
}

variable "pipe_peer_cidrs" {
  description = <<-EOT
    Where pipes from other SFU nodes may come from (cascading: one room spanning nodes and
    regions). SFU nodes announce their public addresses, which autoscaling assigns and no
    security group of another region can name, so by default the pipe range is open:
    a pipe takes packets only from the one address:port the edge connected it to, and
    everything on it is SRTP (AES-256-GCM) with keys made per pipe on the node and sent
    only over the nodes' authenticated edge links. To allow-list instead, give SFU nodes
    addresses from known ranges (Elastic IP or BYOIP pools) and list every region's here.
  EOT
  type        = list(string)
  default     = ["0.0.0.0/0"]
  validation {
    condition     = length(var.pipe_peer_cidrs) > 0 && alltrue([for c in var.pipe_peer_cidrs : can(cidrhost(c, 0))])
    error_message = "pipe_peer_cidrs: at least one IPv4 CIDR (pipes must be able to arrive from the other SFU nodes)."
  }
}

variable "availability_zones" {
  description = "Zones to spread nodes over (a subnet each). Empty: the region's first two."
  type        = list(string)
  default     = []
}

# ── Edge and code ──────────────────────────────────────────────────────────────────

variable "edge_url" {
  description = "The edge's base URL, https://<worker>."
  type        = string
}

variable "node_secret" {
  description = "Credential nodes present to the edge (one of its NODE_SECRET values, or a node token)."
  type        = string
  sensitive   = true
}

variable "source_repository" {
  description = "Git URL of the Meridian repository nodes check out."
  type        = string
}

variable "source_ref" {
  description = "Tag or commit nodes run."
  type        = string
}

# ── SFU fleet ──────────────────────────────────────────────────────────────────────

variable "architecture" {
  description = "CPU architecture of every instance type below: amd64 or arm64 (selects the Debian image)."
  type        = string
  default     = "amd64"
  validation {
    condition     = contains(["amd64", "arm64"], var.architecture)
    error_message = "architecture: amd64 or arm64."
  }
}

variable "ami_id" {
  description = "Image for all nodes. null: the newest official Debian 12 image for var.architecture."
  type        = string
  default     = null
}

variable "sfu_instance_type" {
  description = "SFU instance type: compute-optimized, one mediasoup worker per vCPU."
  type        = string
  default     = "c6i.xlarge"
}

variable "sfu_capacity" {
  description = "SFU autoscaling bounds."
  type = object({
    min     = optional(number, 1)
    max     = optional(number, 6)
    desired = optional(number, 1)
  })
  default = {}
  validation {
    condition     = var.sfu_capacity.min <= var.sfu_capacity.desired && var.sfu_capacity.desired <= var.sfu_capacity.max
    error_message = "sfu_capacity: min <= desired <= max."
  }
}

variable "sfu_cpu_target" {
  description = "Average CPU percentage the SFU group is scaled to hold."
  type        = number
  default     = 55
}

variable "sfu_drain_timeout_s" {
  description = "How long a stopping SFU node (scale-in, instance refresh, systemctl stop) lets its rooms finish before the edge moves the rest. The group's termination hook holds an instance a little longer than that."
  type        = number
  default     = 600
  validation {
    # AWS caps a lifecycle hook's heartbeat at 7200 s; the hook adds systemd's 30 s
    # stop margin (node-bootstrap) and 60 s of its own.
    condition     = var.sfu_drain_timeout_s >= 0 && var.sfu_drain_timeout_s <= 7110 && floor(var.sfu_drain_timeout_s) == var.sfu_drain_timeout_s
    error_message = "sfu_drain_timeout_s: whole seconds, 0 to 7110 (a termination hook waits at most 7200 s)."
  }
}

# ── TURN ───────────────────────────────────────────────────────────────────────────

variable "turn_count" {
  description = "TURN nodes in this region, each with an Elastic IP, spread over the zones."
  type        = number
  default     = 1
  validation {
    condition     = var.turn_count >= 0 && var.turn_count <= 20
    error_message = "turn_count: 0-20."
  }
}

variable "turn_instance_type" {
  description = "TURN instance type: network bandwidth matters more than CPU."
  type        = string
  default     = "c6in.large"
}

variable "turn_hostnames" {
  description = "DNS names of TURN nodes, keyed like the turn_nodes output (turn-00, turn-01, ...); each must resolve to that node's Elastic IP and be covered by turn_tls. A node's turns: URL uses its name; a node without one gets no turns: URL (see advertise_turns_on_ip)."
  type        = map(string)
  default     = {}
  validation {
    condition     = alltrue([for k in keys(var.turn_hostnames) : can(regex("^turn-[0-9]{2}$", k))])
    error_message = "turn_hostnames: keys are TURN node keys, turn-00 to turn-19."
  }
}

variable "advertise_turns_on_ip" {
  description = "Advertise turns:<Elastic IP>:443 for TURN nodes without a hostname. Only for a turn_tls certificate with the IP addresses as subjectAltNames; any other certificate fails every such handshake."
  type        = bool
  default     = false
}

variable "turn_realm" {
  description = "coturn realm."
  type        = string
  default     = "meridian"
}

variable "turn_static_auth_secrets" {
  description = "TURN REST API secrets (current first; two during a rotation window)."
  type        = list(string)
  sensitive   = true
}

variable "turn_tls" {
  description = "PEM certificate and key for turns:, valid for every name in turn_hostnames; null for a self-signed placeholder (and no turns: URLs)."
  type = object({
    certificate_pem = string
    private_key_pem = string
  })
  sensitive = true
  nullable  = true
}

# ── Access ─────────────────────────────────────────────────────────────────────────

variable "enable_ssm" {
  description = "Shell access through AWS Systems Manager Session Manager (no SSH port is ever opened)."
  type        = bool
  default     = true
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
