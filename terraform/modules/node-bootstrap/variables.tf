# ── Where the node is and whom it talks to ─────────────────────────────────────────

variable "region" {
  description = "Region name nodes report to the edge (NODE_REGION), e.g. eu-central-1."
  type        = string
  validation {
    condition     = can(regex("^[a-zA-Z0-9._-]{1,64}$", var.region))
    error_message = "region: 1-64 of [a-zA-Z0-9._-]."
  }
}

variable "location" {
  description = "Latitude and longitude nodes report for placement (NODE_LAT, NODE_LON)."
  type        = object({ lat = number, lon = number })
  validation {
    condition     = abs(var.location.lat) <= 90 && abs(var.location.lon) <= 180
    error_message = "location: lat within ±90, lon within ±180."
  }
}

variable "edge_url" {
  description = "The edge's base URL (https://<worker>); nodes dial <edge_url>/api/nodes/connect."
  type        = string
  validation {
    condition     = can(regex("^(https|wss)://[^\\s/]+", var.edge_url)) || can(regex("^(http|ws)://(127\\.0\\.0\\.1|localhost)(:[0-9]+)?", var.edge_url))
    error_message = "edge_url must be https:// or wss:// (plain http only for a loopback edge)."
  }
}

variable "node_secret" {
  description = "The credential nodes present to the edge: one of the edge's NODE_SECRET values, or a node token (JWT)."
  type        = string
  sensitive   = true
  validation {
    condition     = length(var.node_secret) >= 32 && !can(regex("[\\s\"'\\\\]", var.node_secret))
    error_message = "node_secret: at least 32 characters, no whitespace, quotes or backslashes."
  }
}

# ── What to run ────────────────────────────────────────────────────────────────────

variable "source_repository" {
  description = "Git URL of the Meridian repository the nodes run (a fork or mirror is fine)."
  type        = string
}

variable "source_ref" {
  description = "Tag or commit the nodes check out. Pin it: every node of a fleet runs the same code."
  type        = string
  validation {
    condition     = can(regex("^[A-Za-z0-9._/-]{1,100}$", var.source_ref))
    error_message = "source_ref: a tag, branch or commit id."
  }
}

variable "node_version" {
  description = "Node.js release installed from the official tarball (>= 22.12; the project tests on 24)."
  type        = string
  default     = "24.21.0"
  validation {
    condition     = can(regex("^2[4-9]\\.[0-9]+\\.[0-9]+$", var.node_version))
    error_message = "node_version: a 24.x (or newer) release such as 24.21.0."
  }
}

variable "ports_file" {
  description = "Path of ports.json; null means the repository's own (the one source of truth)."
  type        = string
  default     = null
}

variable "instance_metadata" {
  description = "How a node learns its id and public address at boot: aws-imdsv2 (instance id, public-ipv4) or none (static values below)."
  type        = string
  default     = "aws-imdsv2"
  validation {
    condition     = contains(["aws-imdsv2", "none"], var.instance_metadata)
    error_message = "instance_metadata: aws-imdsv2 or none."
  }
}

# ── SFU nodes (an autoscaling group shares one user-data) ───────────────────────────

variable "sfu" {
  description = "SFU settings. node_id / announced_address: null to read them from instance metadata at boot."
  type = object({
    node_id_prefix    = optional(string, "sfu")
    node_id           = optional(string)
    announced_address = optional(string)
    log_level         = optional(string, "info")
    # After SIGTERM (stop, scale-in), how long rooms may finish before the edge moves them.
    drain_timeout_s = optional(number, 600)
  })
  default = {}
  validation {
    condition     = can(regex("^[a-zA-Z0-9][a-zA-Z0-9._-]{0,40}$", var.sfu.node_id_prefix)) && contains(["debug", "info", "warn", "error"], var.sfu.log_level)
    error_message = "sfu.node_id_prefix: 1-41 of [a-zA-Z0-9._-]; sfu.log_level: debug, info, warn or error."
  }
  validation {
    condition     = var.sfu.drain_timeout_s >= 0 && var.sfu.drain_timeout_s <= 86400 && floor(var.sfu.drain_timeout_s) == var.sfu.drain_timeout_s
    error_message = "sfu.drain_timeout_s: whole seconds, 0 to 86400."
  }
}

# ── TURN nodes (each has its own stable addresses) ─────────────────────────────────

variable "turn_nodes" {
  description = "TURN nodes by name: node id, the Elastic/public IP clients reach, the private IP coturn binds, and optionally the DNS name that points at the public IP (the name turn_tls's certificate is for; turns: URLs use it)."
  type = map(object({
    node_id    = string
    public_ip  = string
    private_ip = string
    hostname   = optional(string)
  }))
  default = {}
  validation {
    condition = alltrue([for n in values(var.turn_nodes) :
      can(regex("^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$", n.node_id)) && can(cidrhost("${n.public_ip}/32", 0)) && can(cidrhost("${n.private_ip}/32", 0))
    ])
    error_message = "turn_nodes: node_id 1-63 of [a-zA-Z0-9._-]; public_ip and private_ip IPv4 addresses."
  }
  validation {
    # A certificate is checked against the name in the URL: an IP address here would bring
    # back the URL no certificate matches (advertise_turns_on_ip is the explicit way).
    condition = alltrue([for n in values(var.turn_nodes) :
      n.hostname == null || (length(coalesce(n.hostname, "-")) <= 253 && can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)+[a-z]([a-z0-9-]{0,61}[a-z0-9])?$", coalesce(n.hostname, "-"))))
    ])
    error_message = "turn_nodes: hostname must be a lowercase DNS name with at least one dot (not an IP address), at most 253 characters."
  }
}

variable "advertise_turns_on_ip" {
  description = "Also advertise turns:<public IP>:443 for TURN nodes without a hostname. Only for a turn_tls certificate that lists the IP address as a subjectAltName (browsers check it like a name); otherwise leave false: such a URL fails every TLS handshake. Never applies without turn_tls."
  type        = bool
  default     = false
}

variable "turn_realm" {
  description = "coturn realm (a name; clients see it in the 401 challenge)."
  type        = string
  default     = "meridian"
  validation {
    condition     = can(regex("^[a-zA-Z0-9.-]{1,253}$", var.turn_realm))
    error_message = "turn_realm: a host-like name."
  }
}

variable "turn_static_auth_secrets" {
  description = "TURN REST API secrets, the current one first; a second one only during a rotation window. The edge mints credentials with the first."
  type        = list(string)
  sensitive   = true
  validation {
    condition = length(var.turn_static_auth_secrets) >= 1 && length(var.turn_static_auth_secrets) <= 2 && length(distinct(var.turn_static_auth_secrets)) == length(var.turn_static_auth_secrets) && alltrue([
      for s in var.turn_static_auth_secrets : length(s) >= 32 && can(regex("^[!-~]+$", s)) && !strcontains(s, "#") && !can(regex("[\"'\\\\]", s))
    ])
    error_message = "turn_static_auth_secrets: one or two distinct secrets of at least 32 printable characters, no spaces, '#', quotes or backslashes (they also go in a systemd environment file)."
  }
}

variable "turn_tls" {
  description = "PEM certificate chain and private key for turns:, valid for every TURN node's hostname (one certificate with each name, or a wildcard). null: a self-signed placeholder keeps the TLS port up, and no turns: URL is advertised."
  type = object({
    certificate_pem = string
    private_key_pem = string
  })
  sensitive = true
  nullable  = true
}

variable "turn_limits" {
  description = "coturn quotas: allocations per credential and in total; bytes/s per session and for the node."
  type = object({
    user_quota   = optional(number, 12)
    total_quota  = optional(number, 1200)
    max_bps      = optional(number, 1250000)
    bps_capacity = optional(number, 125000000)
  })
  default = {}
}

variable "turn_prometheus" {
  description = "Enable coturn's Prometheus exporter on ports.json's turn.prometheusPort. Debian's coturn is built without it: only for builds that have it. The TURN agent serves its own /metrics (health, node state, relay allocations) on that port otherwise; with the exporter on, the agent serves none (METRICS_PORT=0), so the port is opened once either way."
  type        = bool
  default     = false
}

variable "extra_denied_peer_cidrs" {
  description = "Networks the TURN relay must not reach besides the private/reserved ranges: the VPC's CIDR, say."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for c in var.extra_denied_peer_cidrs : can(cidrhost(c, 0))])
    error_message = "extra_denied_peer_cidrs: CIDR blocks."
  }
}

# ── Host ───────────────────────────────────────────────────────────────────────────

variable "ssh_authorized_keys" {
  description = "Public keys for the image's default user. Empty: no SSH access (use a session manager)."
  type        = list(string)
  default     = []
}

variable "extra_packages" {
  description = "More Debian packages (a cloud module adds its agent's dependencies here)."
  type        = list(string)
  default     = []
}

variable "extra_runcmd" {
  description = "Commands run after the node is set up (a cloud module installs its session agent here)."
  type        = list(string)
  default     = []
}

variable "package_upgrade" {
  description = "Upgrade Debian packages at first boot (security fixes published after the image)."
  type        = bool
  default     = true
}
