# Offline: the module has no provider, so `apply` only evaluates it.

variables {
  region            = "eu-central-1"
  location          = { lat = 50.11, lon = 8.68 }
  edge_url          = "https://meridian.example.workers.dev"
  node_secret       = "test-node-secret-0123456789abcdef-0123"
  source_repository = "https://git.example.org/meridian.git"
  source_ref        = "v0.1.0"
  turn_nodes = {
    a = { node_id = "turn-eu-central-1-a", public_ip = "198.51.100.10", private_ip = "10.40.1.10" }
    b = { node_id = "turn-eu-central-1-b", public_ip = "198.51.100.11", private_ip = "10.40.2.10" }
  }
  turn_static_auth_secrets = ["turn-secret-current-0123456789abcdef", "turn-secret-previous-0123456789abcdef"]
  turn_tls                 = null
  extra_denied_peer_cidrs  = ["10.40.0.0/16"]
}

run "sfu_user_data" {
  command = apply

  assert {
    condition     = startswith(output.sfu_user_data, "#cloud-config\n")
    error_message = "user-data must start with #cloud-config"
  }
  assert {
    condition     = strcontains(output.sfu_user_data, "RTC_PORT_BASE=${output.ports.sfu.webrtcPortBase}") && strcontains(output.sfu_user_data, "LISTEN_IP=0.0.0.0")
    error_message = "the SFU environment must take RTC_PORT_BASE from ports.json and listen on all addresses"
  }
  assert {
    condition     = strcontains(output.sfu_user_data, "ExecStart=/opt/node/bin/node sfu-nodes/src/main.ts") && strcontains(output.sfu_user_data, "npm run --silent worker:fetch -w sfu-nodes")
    error_message = "the SFU unit must run sfu-nodes/src/main.ts with mediasoup's prebuilt worker fetched"
  }
  assert {
    condition     = strcontains(output.sfu_user_data, "KillMode=mixed") && strcontains(output.sfu_user_data, "TimeoutStopSec=630") && strcontains(output.sfu_user_data, "DRAIN_TIMEOUT_MS=600000")
    error_message = "SIGTERM must reach only the node (it drains; its workers stay), and systemd must wait past the drain timeout"
  }
  assert {
    condition     = strcontains(output.sfu_user_data, "if [ \"$workers\" -gt ${output.ports.sfu.maxWorkers} ]") && strcontains(output.sfu_user_data, "ANNOUNCED_ADDRESS=$(md public-ipv4)") && strcontains(output.sfu_user_data, "NODE_ID=sfu-$(md instance-id)")
    error_message = "workers must be capped at ports.json's maxWorkers; id and address must come from IMDSv2"
  }
  assert {
    condition = alltrue([
      for f in yamldecode(output.sfu_user_data).write_files : f.permissions == "0600" if strcontains(f.content, var.node_secret)
    ]) && length([for f in yamldecode(output.sfu_user_data).write_files : f if strcontains(f.content, var.node_secret)]) == 1
    error_message = "the node secret must be in exactly one file, readable by root only"
  }
  assert {
    condition = alltrue([
      strcontains(output.sfu_user_data, "OnUnitActiveSec=5s\n"),
      strcontains(output.sfu_user_data, "AccuracySec=1s\n"),
      strcontains(output.sfu_user_data, "ExecStart=/usr/local/sbin/meridian-sfu-lifecycle\n"),
      strcontains(output.sfu_user_data, "$imds/meta-data/autoscaling/target-lifecycle-state"),
      strcontains(output.sfu_user_data, "if [ \"$state\" = Terminated ] && systemctl is-active --quiet \"$unit\"; then"),
      strcontains(output.sfu_user_data, "systemctl stop --no-block \"$unit\""),
      strcontains(output.sfu_user_data, "unit=meridian-sfu.service\n"),
    ])
    error_message = "with aws-imdsv2 a timer polls the autoscaling target state every 5 s and stops (drains) the SFU unit when it is Terminated"
  }
  assert {
    condition = alltrue([
      contains(output.files.sfu, { path = "/usr/local/sbin/meridian-sfu-lifecycle", permissions = "0755" }),
      contains(output.files.sfu, { path = "/etc/systemd/system/meridian-sfu-lifecycle.timer", permissions = "0644" }),
      contains(output.files.sfu, { path = "/etc/systemd/system/meridian-sfu-lifecycle.service", permissions = "0644" }),
      # Enabled after the SFU unit exists: stopping a unit systemd has not loaded would do nothing.
      index(yamldecode(output.sfu_user_data).runcmd, "systemctl enable --now meridian-sfu-lifecycle.timer") > index(yamldecode(output.sfu_user_data).runcmd, "systemctl enable --now meridian-node-env.service meridian-sfu.service"),
    ])
    error_message = "the lifecycle script, its service and timer are written, and the timer is enabled after the SFU unit"
  }
  assert {
    condition     = output.sfu_shutdown == { drain_timeout_s = 600, stop_timeout_s = 630, lifecycle_poll_s = 5 }
    error_message = "sfu_shutdown must report the drain, systemd's stop timeout and the poll period a termination hook has to outlast"
  }
  assert {
    condition = anytrue([
      for f in yamldecode(output.sfu_user_data).write_files : f.path == "/etc/sysctl.d/61-meridian-sfu.conf" && strcontains(f.content, "\nnet.ipv4.ip_local_reserved_ports = 40000-40031,41000-41999\n")
    ])
    error_message = "SFU nodes reserve their WebRTC ports and pipe range from the kernel's ephemeral ports"
  }
  assert {
    condition = output.firewall.sfu == [
      { name = "webrtc-udp", protocol = "udp", from_port = 40000, to_port = 40031, source = "any" },
      { name = "webrtc-tcp", protocol = "tcp", from_port = 40000, to_port = 40031, source = "any" },
      { name = "metrics", protocol = "tcp", from_port = 9310, to_port = 9310, source = "vpc" },
      { name = "pipe-udp", protocol = "udp", from_port = 41000, to_port = 41999, source = "sfu" },
    ]
    error_message = "SFU firewall must open the RTC range for 32 workers to all, metrics to the VPC only, the pipe range to SFU nodes"
  }
}

run "turn_user_data" {
  command = apply

  assert {
    condition     = length(output.turn_user_data) == 2 && alltrue([for u in values(output.turn_user_data) : startswith(u, "#cloud-config\n")])
    error_message = "one user-data per TURN node"
  }
  assert {
    condition = alltrue([
      strcontains(output.turnserver_conf.a, "listening-ip=10.40.1.10\n"),
      strcontains(output.turnserver_conf.a, "relay-ip=10.40.1.10\n"),
      strcontains(output.turnserver_conf.a, "external-ip=198.51.100.10/10.40.1.10\n"),
      strcontains(output.turnserver_conf.b, "external-ip=198.51.100.11/10.40.2.10\n"),
      strcontains(output.turnserver_conf.a, "listening-port=${output.ports.turn.listeningPort}\n"),
      strcontains(output.turnserver_conf.a, "tls-listening-port=${output.ports.turn.tlsListeningPort}\n"),
      strcontains(output.turnserver_conf.a, "min-port=${output.ports.turn.relayMinPort}\n"),
      strcontains(output.turnserver_conf.a, "max-port=${output.ports.turn.relayMaxPort}\n"),
    ])
    error_message = "coturn must bind its private address, announce its public one, and use ports.json"
  }
  assert {
    condition = alltrue([
      strcontains(output.turnserver_conf.a, "static-auth-secret=turn-secret-current-0123456789abcdef\nstatic-auth-secret=turn-secret-previous-0123456789abcdef\n"),
      strcontains(output.turnserver_conf.a, "use-auth-secret\n"),
      strcontains(output.turnserver_conf.a, "denied-peer-ip=10.0.0.0-10.255.255.255\n"),
      strcontains(output.turnserver_conf.a, "denied-peer-ip=10.40.0.0-10.40.255.255\n"),
      strcontains(output.turnserver_conf.a, "cert=/etc/meridian/tls/turn-cert.pem\n"),
      !strcontains(output.turnserver_conf.a, "allow-loopback-peers"),
      !strcontains(output.turnserver_conf.a, "allowed-peer-ip"),
    ])
    error_message = "both rotation secrets, the private and VPC deny ranges, TLS, and no loopback exception"
  }
  assert {
    condition = alltrue([
      for name, u in output.turn_user_data : alltrue([
        for f in yamldecode(u).write_files : f.permissions == "0600" if strcontains(f.content, var.node_secret) || strcontains(f.content, "turn-secret-current")
      ])
    ])
    error_message = "files holding the node secret or a TURN secret must be 0600"
  }
  assert {
    condition = alltrue([
      strcontains(output.turn_user_data.a, "ExecStart=/opt/node/bin/node turn/src/agent.ts"),
      strcontains(output.turn_user_data.a, "TURN_PROBE_HOST=10.40.1.10"),
      strcontains(output.turn_user_data.a, "NODE_ID=turn-eu-central-1-a"),
      strcontains(output.turn_user_data.a, "tcp dport ${output.ports.turn.altTlsListeningPort} redirect to :${output.ports.turn.tlsListeningPort}"),
      strcontains(output.turn_user_data.a, "ExecStart=/usr/bin/turnserver -c /etc/meridian/turnserver.conf --pidfile="),
      !strcontains(output.turn_user_data.a, "worker:fetch"),
    ])
    error_message = "TURN user-data: the agent unit, the 443 redirect, coturn on Meridian's config, no mediasoup"
  }
  assert {
    condition = output.turn_urls == {
      a = ["turn:198.51.100.10:3478?transport=udp", "turn:198.51.100.10:3478?transport=tcp"]
      b = ["turn:198.51.100.11:3478?transport=udp", "turn:198.51.100.11:3478?transport=tcp"]
    } && strcontains(output.turn_user_data.a, "TURN_URLS=turn:198.51.100.10:3478?transport=udp,turn:198.51.100.10:3478?transport=tcp\n")
    error_message = "without a certificate only the self-signed placeholder answers TLS: no turns: URL is advertised"
  }
  assert {
    condition     = [for r in output.firewall.turn : r.name] == ["turn-udp", "turn-tcp", "turns", "turns-alt", "relay-udp", "metrics"]
    error_message = "TURN firewall: listeners, the UDP relay range and the metrics port, nothing else"
  }
  assert {
    condition     = [for r in output.firewall.turn : r if r.name == "metrics"] == [{ name = "metrics", protocol = "tcp", from_port = 9641, to_port = 9641, source = "vpc" }]
    error_message = "the TURN agent's metrics port (ports.json's turn.prometheusPort) opens to the VPC only"
  }
  assert {
    condition = alltrue([
      for u in values(output.turn_user_data) : anytrue([
        for f in yamldecode(u).write_files : f.path == "/etc/meridian/turn-agent.env" && alltrue([
          strcontains(f.content, "METRICS_IP=0.0.0.0\n"),
          strcontains(f.content, "METRICS_PORT=${output.ports.turn.prometheusPort}\n"),
          strcontains(f.content, "TURN_RELAY_MIN_PORT=${output.ports.turn.relayMinPort}\n"),
          strcontains(f.content, "TURN_RELAY_MAX_PORT=${output.ports.turn.relayMaxPort}\n"),
        ])
      ])
    ])
    error_message = "every TURN agent serves /metrics beyond loopback on ports.json's port and counts coturn's relay range"
  }
  assert {
    condition = alltrue([
      for u in values(output.turn_user_data) : anytrue([
        for f in yamldecode(u).write_files : f.path == "/etc/sysctl.d/61-meridian-turn.conf" && f.permissions == "0644" && strcontains(f.content, "\nnet.ipv4.ip_local_reserved_ports = ${output.ports.turn.relayMinPort}-${output.ports.turn.relayMaxPort}\n")
      ])
    ]) && !strcontains(output.sfu_user_data, "${output.ports.turn.relayMinPort}-${output.ports.turn.relayMaxPort}")
    error_message = "TURN nodes (only) reserve coturn's relay range from the kernel's ephemeral ports"
  }
  assert {
    # AWS refuses user-data over 16 KiB; aws-region gzips it, which cloud-init unpacks.
    condition     = alltrue([for u in concat([output.sfu_user_data], values(output.turn_user_data)) : length(base64gzip(u)) * 3 / 4 < 16384])
    error_message = "compressed user-data must stay under AWS's 16 KiB"
  }
}

run "static_identity_without_metadata" {
  command = apply
  variables {
    instance_metadata = "none"
    sfu               = { node_id = "sfu-lab-1", announced_address = "203.0.113.5" }
    turn_nodes        = {}
  }
  assert {
    condition     = strcontains(output.sfu_user_data, "NODE_ID=sfu-lab-1") && strcontains(output.sfu_user_data, "ANNOUNCED_ADDRESS=203.0.113.5") && !strcontains(output.sfu_user_data, "169.254.169.254")
    error_message = "static id and address go into the environment file and IMDS is never asked"
  }
  assert {
    condition     = !strcontains(output.sfu_user_data, "meridian-sfu-lifecycle") && output.sfu_shutdown.lifecycle_poll_s == null
    error_message = "without AWS metadata there is no lifecycle state to poll: no watcher"
  }
}

run "short_drain_shortens_the_stop_timeout" {
  command = apply
  variables {
    sfu = { drain_timeout_s = 120 }
  }
  assert {
    condition     = strcontains(output.sfu_user_data, "TimeoutStopSec=150\n") && strcontains(output.sfu_user_data, "DRAIN_TIMEOUT_MS=120000\n") && output.sfu_shutdown.stop_timeout_s == 150
    error_message = "systemd's stop timeout (and what sfu_shutdown reports) follows sfu.drain_timeout_s"
  }
}

run "turn_tls_from_the_operator" {
  command = apply
  variables {
    turn_nodes = {
      a = { node_id = "turn-eu-central-1-a", public_ip = "198.51.100.10", private_ip = "10.40.1.10", hostname = "turn-a.eu.example.org" }
      b = { node_id = "turn-eu-central-1-b", public_ip = "198.51.100.11", private_ip = "10.40.2.10" }
    }
    # Placeholders in PEM armour: not a certificate, not a key.
    turn_tls = {
      certificate_pem = "-----BEGIN CERTIFICATE-----\nTEST-ONLY-NOT-A-CERTIFICATE\n-----END CERTIFICATE-----\n"
      private_key_pem = "-----BEGIN PRIVATE KEY-----\nTEST-ONLY-NOT-A-KEY\n-----END PRIVATE KEY-----\n"
    }
  }

  assert {
    condition = alltrue([for name, u in output.turn_user_data :
      [for f in yamldecode(u).write_files : [f.path, f.permissions] if strcontains(f.content, "TEST-ONLY-NOT-A-KEY")] == [["/etc/meridian/tls/turn-pkey.pem", "0600"]]
    ])
    error_message = "the private key must be written to exactly one file, root-only"
  }
  assert {
    condition = alltrue([for name, u in output.turn_user_data :
      [for f in yamldecode(u).write_files : [f.path, f.permissions] if strcontains(f.content, "TEST-ONLY-NOT-A-CERTIFICATE")] == [["/etc/meridian/tls/turn-cert.pem", "0644"]]
    ])
    error_message = "the certificate chain (public) must be written once, world-readable"
  }
  assert {
    # coturn runs as turnserver: the key becomes group-readable for it (0640) before coturn
    # starts, and the placeholder never overwrites an operator's certificate.
    condition = alltrue([
      index(yamldecode(output.turn_user_data.a).runcmd, "chgrp turnserver /etc/meridian/turnserver.conf /etc/meridian/tls/turn-pkey.pem && chmod 0640 /etc/meridian/turnserver.conf /etc/meridian/tls/turn-pkey.pem") < index(yamldecode(output.turn_user_data.a).runcmd, "systemctl enable coturn.service && systemctl restart coturn.service"),
      length([for c in yamldecode(output.turn_user_data.a).runcmd : c if strcontains(c, "openssl req") && !startswith(c, "test -s /etc/meridian/tls/turn-cert.pem || ")]) == 0,
    ])
    error_message = "the key must be 0640 root:turnserver before coturn starts, and only a missing certificate may get the placeholder"
  }
  assert {
    condition     = strcontains(output.turnserver_conf.a, "\ncert=/etc/meridian/tls/turn-cert.pem\npkey=/etc/meridian/tls/turn-pkey.pem\n")
    error_message = "coturn's cert and pkey must be the files the certificate and key are written to"
  }
  assert {
    condition = output.turn_urls == {
      a = ["turn:198.51.100.10:3478?transport=udp", "turn:198.51.100.10:3478?transport=tcp", "turns:turn-a.eu.example.org:443?transport=tcp"]
      b = ["turn:198.51.100.11:3478?transport=udp", "turn:198.51.100.11:3478?transport=tcp"]
    }
    error_message = "turns: names the node's hostname (what the certificate is for) on 443; turn: stays on the IP; a node without a hostname gets no turns:"
  }
  assert {
    condition     = strcontains(output.turn_user_data.a, "TURN_URLS=turn:198.51.100.10:3478?transport=udp,turn:198.51.100.10:3478?transport=tcp,turns:turn-a.eu.example.org:443?transport=tcp\n")
    error_message = "the agent must register the same URLs as the turn_urls output"
  }
}

run "turns_on_the_ip_only_when_allowed" {
  command = apply
  variables {
    advertise_turns_on_ip = true
    turn_nodes = {
      a = { node_id = "turn-eu-central-1-a", public_ip = "198.51.100.10", private_ip = "10.40.1.10", hostname = "turn-a.eu.example.org" }
      b = { node_id = "turn-eu-central-1-b", public_ip = "198.51.100.11", private_ip = "10.40.2.10" }
    }
    turn_tls = {
      certificate_pem = "-----BEGIN CERTIFICATE-----\nTEST-ONLY-NOT-A-CERTIFICATE\n-----END CERTIFICATE-----\n"
      private_key_pem = "-----BEGIN PRIVATE KEY-----\nTEST-ONLY-NOT-A-KEY\n-----END PRIVATE KEY-----\n"
    }
  }
  assert {
    condition     = output.turn_urls.b[2] == "turns:198.51.100.11:443?transport=tcp" && output.turn_urls.a[2] == "turns:turn-a.eu.example.org:443?transport=tcp"
    error_message = "with advertise_turns_on_ip a node without a hostname gets turns: on its IP; a hostname still wins"
  }
}

run "no_turns_on_the_ip_without_a_certificate" {
  command = apply
  variables {
    advertise_turns_on_ip = true
    turn_nodes = {
      a = { node_id = "turn-eu-central-1-a", public_ip = "198.51.100.10", private_ip = "10.40.1.10", hostname = "turn-a.eu.example.org" }
    }
  }
  assert {
    condition     = length([for u in output.turn_urls.a : u if startswith(u, "turns:")]) == 0
    error_message = "the self-signed placeholder validates for no name and no IP: never a turns: URL without turn_tls"
  }
}

run "refuses_an_ip_address_as_hostname" {
  command = plan
  variables {
    turn_nodes = {
      a = { node_id = "turn-eu-central-1-a", public_ip = "198.51.100.10", private_ip = "10.40.1.10", hostname = "198.51.100.10" }
    }
  }
  expect_failures = [var.turn_nodes]
}

run "refuses_a_hostname_with_a_port" {
  command = plan
  variables {
    turn_nodes = {
      a = { node_id = "turn-eu-central-1-a", public_ip = "198.51.100.10", private_ip = "10.40.1.10", hostname = "turn-a.eu.example.org:443" }
    }
  }
  expect_failures = [var.turn_nodes]
}

run "coturn_exporter_only_from_the_vpc_and_instead_of_the_agent" {
  command = apply
  variables {
    turn_prometheus = true
  }
  assert {
    condition     = [for r in output.firewall.turn : r if r.from_port <= 9641 && r.to_port >= 9641] == [{ name = "metrics", protocol = "tcp", from_port = 9641, to_port = 9641, source = "vpc" }]
    error_message = "the exporter's port opens to the VPC only, once"
  }
  assert {
    condition = alltrue([
      for u in values(output.turn_user_data) : anytrue([
        for f in yamldecode(u).write_files : f.path == "/etc/meridian/turn-agent.env" && strcontains(f.content, "METRICS_PORT=0\n")
      ])
    ])
    error_message = "with coturn's exporter on its port, the agent serves no metrics"
  }
  assert {
    condition     = strcontains(output.turnserver_conf.a, "prometheus\nprometheus-port=9641\n")
    error_message = "the exporter is enabled in coturn on the ports.json port"
  }
}

run "refuses_a_short_node_secret" {
  command = plan
  variables {
    node_secret = "short"
  }
  expect_failures = [var.node_secret]
}

run "refuses_three_turn_secrets" {
  command = plan
  variables {
    turn_static_auth_secrets = ["turn-secret-a-0123456789abcdef0123456", "turn-secret-b-0123456789abcdef0123456", "turn-secret-c-0123456789abcdef0123456"]
  }
  expect_failures = [var.turn_static_auth_secrets]
}

run "refuses_a_turn_secret_with_quotes" {
  command = plan
  variables {
    turn_static_auth_secrets = ["turn-secret-with-a-quote-\"-0123456789abcdef"]
  }
  expect_failures = [var.turn_static_auth_secrets]
}

run "the_turn_agent_probes_with_the_current_secret" {
  command = apply
  assert {
    condition = alltrue([
      for u in values(output.turn_user_data) : anytrue([
        for f in yamldecode(u).write_files : f.path == "/etc/meridian/turn-agent.env" && f.permissions == "0600" && strcontains(f.content, "TURN_SECRET=turn-secret-current-0123456789abcdef\n") && !strcontains(f.content, "turn-secret-previous")
      ])
    ])
    error_message = "the agent's health check must allocate with the edge's current TURN secret, from a root-only file"
  }
}

run "refuses_a_plain_http_edge" {
  command = plan
  variables {
    edge_url = "http://meridian.example.org"
  }
  expect_failures = [var.edge_url]
}
