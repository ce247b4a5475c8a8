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
  description = "PEM certificate and key for turns:, or null for a self-signed placeholder."
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
