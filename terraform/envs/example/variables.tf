variable "edge_url" {
  description = "The deployed Worker, https://<name>.<account>.workers.dev or your domain."
  type        = string
}

variable "source_repository" {
  description = "Git URL nodes check Meridian out from."
  type        = string
}

variable "source_ref" {
  description = "Tag or commit every node runs."
  type        = string
}

# Secrets: no defaults, never in a .tfvars file in git. Pass them as TF_VAR_* from a
# secret store (see README.md), or read them from SSM Parameter Store in a wrapper.

variable "node_secret" {
  description = "Credential nodes present to the edge; one of the values in the Worker's NODE_SECRET."
  type        = string
  sensitive   = true
}

variable "turn_static_auth_secrets" {
  description = "TURN REST API secrets, current first; the edge's TURN secret must be the first."
  type        = list(string)
  sensitive   = true
}

variable "turn_tls" {
  description = "Certificate (chain) and key for turns:, covering every name in turn_hostnames; null for a self-signed placeholder (no turns: URLs)."
  type = object({
    certificate_pem = string
    private_key_pem = string
  })
  sensitive = true
  nullable  = true
}

variable "sfu_capacity" {
  description = "SFU autoscaling bounds per region."
  type = object({
    min     = optional(number, 1)
    max     = optional(number, 6)
    desired = optional(number, 1)
  })
  default = {}
}

variable "turn_count" {
  description = "TURN nodes per region."
  type        = number
  default     = 1
}

variable "turn_hostnames" {
  description = "DNS names pointing at TURN nodes' Elastic IPs, by region then node key: { \"eu-central-1\" = { \"turn-00\" = \"turn-eu-00.example.org\" } }. turns: URLs are advertised only for nodes named here (and only with turn_tls, whose certificate must cover the names)."
  type        = map(map(string))
  default     = {}
  validation {
    condition     = alltrue([for r in keys(var.turn_hostnames) : contains(["eu-central-1", "us-east-1", "ap-southeast-1"], r)])
    error_message = "turn_hostnames: regions are eu-central-1, us-east-1 and ap-southeast-1."
  }
}
