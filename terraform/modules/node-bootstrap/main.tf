locals {
  repo_root = "${path.module}/../../.."
  # The one source of truth for ports: the SFU's RTC range, coturn's config and the
  # firewall output below all come from here.
  ports = jsondecode(file(coalesce(var.ports_file, "${local.repo_root}/ports.json")))

  # The same template turn/src/render-config.ts renders for development and tests.
  turn_template = "${local.repo_root}/turn/turnserver.conf.tftpl"
  turn_tls_dir  = "/etc/meridian/tls"
  turn_cert     = "${local.turn_tls_dir}/turn-cert.pem"
  turn_pkey     = "${local.turn_tls_dir}/turn-pkey.pem"

  sfu_static_node_id   = var.sfu.node_id != null
  sfu_static_announced = var.sfu.announced_address != null
  needs_imds           = !(local.sfu_static_node_id && local.sfu_static_announced)

  # ── Firewall: every port a role listens on, and no other ─────────────────────────
  # source "any": the internet; "vpc": only the network the nodes live in.
  firewall = {
    sfu = [
      { name = "webrtc-udp", protocol = "udp", from_port = local.ports.sfu.webrtcPortBase, to_port = local.ports.sfu.webrtcPortBase + local.ports.sfu.maxWorkers - 1, source = "any" },
      { name = "webrtc-tcp", protocol = "tcp", from_port = local.ports.sfu.webrtcPortBase, to_port = local.ports.sfu.webrtcPortBase + local.ports.sfu.maxWorkers - 1, source = "any" },
      { name = "metrics", protocol = "tcp", from_port = local.ports.sfu.metricsPort, to_port = local.ports.sfu.metricsPort, source = "vpc" },
      # Cascading: pipes from other SFU nodes (other regions too), one UDP port each.
      { name = "pipe-udp", protocol = "udp", from_port = local.ports.sfu.pipePortMin, to_port = local.ports.sfu.pipePortMax, source = "sfu" },
    ]
    turn = [
      { name = "turn-udp", protocol = "udp", from_port = local.ports.turn.listeningPort, to_port = local.ports.turn.listeningPort, source = "any" },
      { name = "turn-tcp", protocol = "tcp", from_port = local.ports.turn.listeningPort, to_port = local.ports.turn.listeningPort, source = "any" },
      { name = "turns", protocol = "tcp", from_port = local.ports.turn.tlsListeningPort, to_port = local.ports.turn.tlsListeningPort, source = "any" },
      { name = "turns-alt", protocol = "tcp", from_port = local.ports.turn.altTlsListeningPort, to_port = local.ports.turn.altTlsListeningPort, source = "any" },
      # no-tcp-relay in the template: relayed traffic is UDP only.
      { name = "relay-udp", protocol = "udp", from_port = local.ports.turn.relayMinPort, to_port = local.ports.turn.relayMaxPort, source = "any" },
      # One metrics port either way: the agent's /metrics, or coturn's exporter with
      # turn_prometheus (the agent then serves none; see turn_metrics_port).
      { name = "metrics", protocol = "tcp", from_port = local.ports.turn.prometheusPort, to_port = local.ports.turn.prometheusPort, source = "vpc" },
    ]
  }

  # ── coturn ───────────────────────────────────────────────────────────────────────
  turnserver_conf = {
    for name, node in var.turn_nodes : name => templatefile(local.turn_template, {
      listening_port      = local.ports.turn.listeningPort
      tls_listening_port  = local.ports.turn.tlsListeningPort
      listening_ips       = "listening-ip=${node.private_ip}"
      relay_ips           = "relay-ip=${node.private_ip}"
      external_ip         = "external-ip=${node.public_ip}/${node.private_ip}"
      min_port            = local.ports.turn.relayMinPort
      max_port            = local.ports.turn.relayMaxPort
      static_auth_secrets = join("\n", [for s in var.turn_static_auth_secrets : "static-auth-secret=${s}"])
      realm               = var.turn_realm
      user_quota          = var.turn_limits.user_quota
      total_quota         = var.turn_limits.total_quota
      max_bps             = var.turn_limits.max_bps
      bps_capacity        = var.turn_limits.bps_capacity
      peer_policy         = "# production: no peer exceptions"
      extra_denied_peer_ips = length(var.extra_denied_peer_cidrs) == 0 ? "# (none)" : join("\n", [
        for c in var.extra_denied_peer_cidrs : "denied-peer-ip=${cidrhost(c, 0)}-${cidrhost(c, -1)}"
      ])
      tls        = "cert=${local.turn_cert}\npkey=${local.turn_pkey}"
      prometheus = var.turn_prometheus ? "prometheus\nprometheus-port=${local.ports.turn.prometheusPort}" : "# prometheus exporter off (not built into Debian's coturn)"
    })
  }

  # ── Files and commands both roles share ──────────────────────────────────────────
  common_files = [
    { path = "/etc/sysctl.d/60-meridian.conf", permissions = "0644", content = file("${path.module}/templates/sysctl.conf") },
    { path = "/etc/systemd/journald.conf.d/60-meridian.conf", permissions = "0644", content = file("${path.module}/templates/journald.conf") },
    { path = "/etc/security/limits.d/60-meridian.conf", permissions = "0644", content = file("${path.module}/templates/limits.conf") },
    { path = "/usr/local/sbin/meridian-install-node", permissions = "0755", content = templatefile("${path.module}/templates/install-node.sh.tftpl", { node_version = var.node_version }) },
  ]

  install_app = {
    for role in ["sfu", "turn"] : role => templatefile("${path.module}/templates/install-app.sh.tftpl", {
      role              = role
      source_repository = var.source_repository
      source_ref        = var.source_ref
    })
  }

  common_prelude = [
    "sysctl --system >/dev/null",
    "systemctl restart systemd-journald",
    "id -u meridian >/dev/null 2>&1 || useradd --system --home-dir /opt/meridian --no-create-home --shell /usr/sbin/nologin meridian",
    "/usr/local/sbin/meridian-install-node",
    "/usr/local/sbin/meridian-install-app",
  ]

  # ── SFU ──────────────────────────────────────────────────────────────────────────
  # systemd's SIGKILL comes this long after SIGTERM: the drain, plus time for the edge to
  # move what is left and the node to exit.
  sfu_stop_timeout_s = var.sfu.drain_timeout_s + 30

  # Only AWS has the autoscaling lifecycle state in instance metadata; elsewhere the
  # watcher would poll an address that does not answer.
  sfu_lifecycle_watch  = var.instance_metadata == "aws-imdsv2"
  sfu_lifecycle_poll_s = 5
  sfu_lifecycle_files = !local.sfu_lifecycle_watch ? [] : [
    { path = "/usr/local/sbin/meridian-sfu-lifecycle", permissions = "0755", content = file("${path.module}/templates/meridian-sfu-lifecycle.sh") },
    { path = "/etc/systemd/system/meridian-sfu-lifecycle.service", permissions = "0644", content = file("${path.module}/templates/meridian-sfu-lifecycle.service") },
    { path = "/etc/systemd/system/meridian-sfu-lifecycle.timer", permissions = "0644", content = templatefile("${path.module}/templates/meridian-sfu-lifecycle.timer.tftpl", { poll_s = local.sfu_lifecycle_poll_s }) },
  ]

  sfu_env = join("\n", compact([
    "EDGE_URL=${var.edge_url}",
    "NODE_SECRET=${var.node_secret}",
    local.sfu_static_node_id ? "NODE_ID=${var.sfu.node_id}" : "",
    "NODE_REGION=${var.region}",
    "NODE_LAT=${var.location.lat}",
    "NODE_LON=${var.location.lon}",
    "LISTEN_IP=0.0.0.0",
    local.sfu_static_announced ? "ANNOUNCED_ADDRESS=${var.sfu.announced_address}" : "",
    "RTC_PORT_BASE=${local.ports.sfu.webrtcPortBase}",
    # Pipes announce the node's public address (ANNOUNCED_ADDRESS), as WebRTC does.
    "PIPE_PORT_MIN=${local.ports.sfu.pipePortMin}",
    "PIPE_PORT_MAX=${local.ports.sfu.pipePortMax}",
    # Prometheus scrapes from inside the network: the firewall opens this port to the VPC only.
    "METRICS_IP=0.0.0.0",
    "METRICS_PORT=${local.ports.sfu.metricsPort}",
    "LOG_LEVEL=${var.sfu.log_level}",
    "DRAIN_TIMEOUT_MS=${var.sfu.drain_timeout_s * 1000}",
    "",
  ]))

  sfu_cloud_config = {
    package_update  = true
    package_upgrade = var.package_upgrade
    packages        = distinct(concat(["ca-certificates", "curl", "git", "xz-utils", "unattended-upgrades"], var.extra_packages))
    ssh_pwauth      = false
    disable_root    = true
    write_files = concat(local.common_files, [
      { path = "/usr/local/sbin/meridian-install-app", permissions = "0755", content = local.install_app.sfu },
      {
        path        = "/usr/local/sbin/meridian-node-env"
        permissions = "0755"
        content = templatefile("${path.module}/templates/node-env.sh.tftpl", {
          max_workers            = local.ports.sfu.maxWorkers
          imds                   = var.instance_metadata == "aws-imdsv2" && local.needs_imds
          emit_node_id           = !local.sfu_static_node_id
          emit_announced_address = !local.sfu_static_announced
          node_id_prefix         = var.sfu.node_id_prefix
        })
      },
      { path = "/etc/meridian/sfu.env", permissions = "0600", content = local.sfu_env },
      {
        path        = "/etc/sysctl.d/61-meridian-sfu.conf"
        permissions = "0644"
        content = templatefile("${path.module}/templates/sysctl-sfu.conf.tftpl", {
          webrtc_min = local.ports.sfu.webrtcPortBase, webrtc_max = local.ports.sfu.webrtcPortBase + local.ports.sfu.maxWorkers - 1,
          pipe_min   = local.ports.sfu.pipePortMin, pipe_max = local.ports.sfu.pipePortMax,
        })
      },
      { path = "/etc/systemd/system/meridian-node-env.service", permissions = "0644", content = file("${path.module}/templates/meridian-node-env.service") },
      { path = "/etc/systemd/system/meridian-sfu.service", permissions = "0644", content = templatefile("${path.module}/templates/meridian-sfu.service.tftpl", { stop_timeout_s = local.sfu_stop_timeout_s }) },
    ], local.sfu_lifecycle_files)
    runcmd = concat(
      local.common_prelude,
      ["systemctl daemon-reload", "systemctl enable --now meridian-node-env.service meridian-sfu.service"],
      local.sfu_lifecycle_watch ? ["systemctl enable --now meridian-sfu-lifecycle.timer"] : [],
      var.extra_runcmd,
    )
  }

  # ── TURN ─────────────────────────────────────────────────────────────────────────
  # coturn's exporter, where a build has it, takes the port the agent would serve on.
  turn_metrics_port = var.turn_prometheus ? 0 : local.ports.turn.prometheusPort

  turn_agent_env = {
    for name, node in var.turn_nodes : name => join("\n", [
      "EDGE_URL=${var.edge_url}",
      "NODE_SECRET=${var.node_secret}",
      "NODE_ID=${node.node_id}",
      "NODE_REGION=${var.region}",
      "NODE_LAT=${var.location.lat}",
      "NODE_LON=${var.location.lon}",
      "TURN_PROBE_HOST=${node.private_ip}",
      "TURN_PROBE_PORT=${local.ports.turn.listeningPort}",
      "TURN_BPS_CAPACITY=${var.turn_limits.bps_capacity}",
      "TURN_URLS=${join(",", local.turn_urls[name])}",
      # The health check allocates with a credential minted from the edge's (current) secret.
      "TURN_SECRET=${var.turn_static_auth_secrets[0]}",
      # Prometheus scrapes from inside the network: the firewall opens this port to the VPC only.
      "METRICS_IP=0.0.0.0",
      "METRICS_PORT=${local.turn_metrics_port}",
      # coturn's min-port/max-port: the agent counts the relay sockets bound in between.
      "TURN_RELAY_MIN_PORT=${local.ports.turn.relayMinPort}",
      "TURN_RELAY_MAX_PORT=${local.ports.turn.relayMaxPort}",
      "LOG_LEVEL=info",
      "",
    ])
  }

  # Whether a certificate was given is no secret; the list's shape must not be sensitive.
  has_turn_tls = nonsensitive(var.turn_tls != null)

  # What each TURN agent registers and the edge hands to browsers. turn: over UDP/TCP
  # carries no certificate, so the IP is fine. turns: is only worth advertising where a
  # browser can validate the certificate: under the node's DNS name, or on the IP when the
  # operator says the certificate covers it. A URL that fails every TLS handshake would
  # cost clients behind TLS-only firewalls a timeout before the next candidate.
  turn_tls_host = {
    for name, node in var.turn_nodes : name => (
      !local.has_turn_tls ? null : node.hostname != null ? node.hostname : var.advertise_turns_on_ip ? node.public_ip : null
    )
  }
  turn_urls = {
    for name, node in var.turn_nodes : name => concat(
      [
        "turn:${node.public_ip}:${local.ports.turn.listeningPort}?transport=udp",
        "turn:${node.public_ip}:${local.ports.turn.listeningPort}?transport=tcp",
      ],
      local.turn_tls_host[name] == null ? [] : ["turns:${local.turn_tls_host[name]}:${local.ports.turn.altTlsListeningPort}?transport=tcp"],
    )
  }
  turn_tls_files = !local.has_turn_tls ? [] : [
    { path = local.turn_cert, permissions = "0644", content = var.turn_tls.certificate_pem },
    { path = local.turn_pkey, permissions = "0600", content = var.turn_tls.private_key_pem },
  ]

  turn_cloud_config = {
    for name, node in var.turn_nodes : name => {
      package_update  = true
      package_upgrade = var.package_upgrade
      packages        = distinct(concat(["ca-certificates", "curl", "git", "xz-utils", "unattended-upgrades", "coturn", "nftables", "openssl"], var.extra_packages))
      ssh_pwauth      = false
      disable_root    = true
      write_files = concat(local.common_files, local.turn_tls_files, [
        { path = "/usr/local/sbin/meridian-install-app", permissions = "0755", content = local.install_app.turn },
        { path = "/etc/sysctl.d/61-meridian-turn.conf", permissions = "0644", content = templatefile("${path.module}/templates/sysctl-turn.conf.tftpl", { relay_min_port = local.ports.turn.relayMinPort, relay_max_port = local.ports.turn.relayMaxPort }) },
        { path = "/etc/meridian/turnserver.conf", permissions = "0600", content = local.turnserver_conf[name] },
        { path = "/etc/meridian/turn-agent.env", permissions = "0600", content = local.turn_agent_env[name] },
        { path = "/etc/meridian/turn-tls443.nft", permissions = "0644", content = templatefile("${path.module}/templates/turn-tls443.nft.tftpl", { alt_tls_port = local.ports.turn.altTlsListeningPort, tls_port = local.ports.turn.tlsListeningPort }) },
        { path = "/etc/systemd/system/coturn.service.d/meridian.conf", permissions = "0644", content = file("${path.module}/templates/coturn-meridian.conf") },
        { path = "/etc/systemd/system/meridian-turn-tls443.service", permissions = "0644", content = file("${path.module}/templates/meridian-turn-tls443.service") },
        { path = "/etc/systemd/system/meridian-turn-agent.service", permissions = "0644", content = file("${path.module}/templates/meridian-turn-agent.service") },
      ])
      runcmd = concat(local.common_prelude, [
        # Without a certificate from the operator, a throwaway one keeps the TLS listener
        # (and so the firewall's promise) up; browsers refuse it until a real one replaces it.
        "install -d -m 0755 ${local.turn_tls_dir}",
        "test -s ${local.turn_cert} || openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 30 -subj /CN=${node.node_id} -keyout ${local.turn_pkey} -out ${local.turn_cert}",
        "chgrp turnserver /etc/meridian/turnserver.conf ${local.turn_pkey} && chmod 0640 /etc/meridian/turnserver.conf ${local.turn_pkey}",
        "systemctl daemon-reload",
        "systemctl enable --now meridian-turn-tls443.service",
        "systemctl enable coturn.service && systemctl restart coturn.service",
        "systemctl enable --now meridian-turn-agent.service",
      ], var.extra_runcmd)
    }
  }

  ssh_keys = length(var.ssh_authorized_keys) > 0 ? { ssh_authorized_keys = var.ssh_authorized_keys } : {}

  sfu_user_data  = "#cloud-config\n${yamlencode(merge(local.sfu_cloud_config, local.ssh_keys))}"
  turn_user_data = { for name, config in local.turn_cloud_config : name => "#cloud-config\n${yamlencode(merge(config, local.ssh_keys))}" }
}
