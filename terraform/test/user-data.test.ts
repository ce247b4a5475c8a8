import { execFile, execFileSync } from "node:child_process";
import { createServer, type Server } from "node:http";
import { mkdtemp, rm, writeFile, readFile } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cloudInitAvailable, cloudInitSchema, loadCloudConfig, type CloudConfig } from "./support/cloud-init.ts";
import { FIXTURE_TLS, applyRenderFixture, terraformAvailable, writtenFile, type RenderOutputs } from "./support/terraform.ts";

/**
 * The render fixture's user-data, without a certificate (as check-infra.sh renders it)
 * and with a test-only one: both pass cloud-init's schema; the TLS files get the modes
 * coturn needs and nobody else can use; turns: URLs appear only where a certificate can
 * validate; and the SFU's lifecycle watcher, run against a fake IMDS, drains on scale-in.
 */

const run = promisify(execFile);

function envValue(env: string, name: string): string {
  const match = new RegExp(`^${name}=(.*)$`, "m").exec(env);
  if (!match) throw new Error(`no ${name} in the environment file`);
  return match[1]!;
}

function directive(config: string, name: string): string {
  const match = new RegExp(`^${name}=(.*)$`, "m").exec(config);
  if (!match) throw new Error(`no ${name} in the config`);
  return match[1]!;
}

function hasBinary(bin: string): boolean {
  try {
    execFileSync("sh", ["-c", 'command -v "$1" >/dev/null', "sh", bin]);
    return true;
  } catch {
    return false;
  }
}

describe.runIf(terraformAvailable() && cloudInitAvailable())("rendered user-data", () => {
  let plain: RenderOutputs;
  let tls: RenderOutputs;
  let tlsTurn: CloudConfig;
  let sfu: CloudConfig;

  beforeAll(async () => {
    [plain, tls] = await Promise.all([applyRenderFixture(), applyRenderFixture({ tls: true })]);
    [tlsTurn, sfu] = await Promise.all([loadCloudConfig(tls.turn_user_data), loadCloudConfig(plain.sfu_user_data)]);
  });

  describe("cloud-init schema", () => {
    it.each([
      ["SFU", () => plain.sfu_user_data],
      ["TURN without a certificate", () => plain.turn_user_data],
      ["TURN with a certificate", () => tls.turn_user_data],
    ])("%s user-data is valid cloud-config", async (_, userData) => {
      const result = await cloudInitSchema(userData());
      expect(result.output).toMatch(/Valid cloud-config/);
      expect(result.ok, result.output).toBe(true);
    });
  });

  describe("TURN with an operator's certificate", () => {
    const holding = (text: string) => tlsTurn.write_files.filter((f) => f.content.includes(text)).map((f) => ({ path: f.path, permissions: f.permissions }));

    it("writes the key once, root-only (0600), and the certificate once, world-readable", () => {
      expect(holding("TEST-ONLY-NOT-A-KEY")).toEqual([{ path: "/etc/meridian/tls/turn-pkey.pem", permissions: "0600" }]);
      expect(holding("TEST-ONLY-NOT-A-CERTIFICATE")).toEqual([{ path: "/etc/meridian/tls/turn-cert.pem", permissions: "0644" }]);
      expect(writtenFile(tls.turn_user_data, "/etc/meridian/tls/turn-pkey.pem")).toBe(FIXTURE_TLS.private_key_pem);
      expect(writtenFile(tls.turn_user_data, "/etc/meridian/tls/turn-cert.pem")).toBe(FIXTURE_TLS.certificate_pem);
    });

    it("makes the key readable by coturn's group (0640) before coturn starts; the placeholder only fills a missing certificate", () => {
      const key = "/etc/meridian/tls/turn-pkey.pem";
      const cmds = tlsTurn.runcmd;
      const chmod = cmds.findIndex((c) => c.includes(`chgrp turnserver `) && c.includes(`chmod 0640 `) && c.split("&&").every((part) => part.includes(key)));
      const coturn = cmds.findIndex((c) => c.includes("systemctl restart coturn.service"));
      expect(chmod).toBeGreaterThanOrEqual(0);
      expect(coturn).toBeGreaterThan(chmod);
      const placeholder = cmds.filter((c) => c.includes("openssl req"));
      expect(placeholder).toHaveLength(1);
      expect(placeholder[0]).toMatch(/^test -s \/etc\/meridian\/tls\/turn-cert\.pem \|\| /);
    });

    it("points coturn's cert and pkey at the files the certificate and key are written to", () => {
      const config = writtenFile(tls.turn_user_data, "/etc/meridian/turnserver.conf");
      expect(config).toBe(tls.turnserver_conf);
      expect(holding(FIXTURE_TLS.certificate_pem).map((f) => f.path)).toEqual([directive(config, "cert")]);
      expect(holding(FIXTURE_TLS.private_key_pem).map((f) => f.path)).toEqual([directive(config, "pkey")]);
    });

    it("advertises turns: on 443 under the node's hostname, turn: on its IP, and no turns: for a node without a hostname", () => {
      expect(tls.turn_urls.a).toEqual([
        "turn:198.51.100.10:3478?transport=udp",
        "turn:198.51.100.10:3478?transport=tcp",
        "turns:turn-a.eu.example.org:443?transport=tcp",
      ]);
      expect(tls.turn_urls.b.filter((u) => u.startsWith("turns:"))).toEqual([]);
      expect(envValue(writtenFile(tls.turn_user_data, "/etc/meridian/turn-agent.env"), "TURN_URLS")).toBe(tls.turn_urls.a.join(","));
    });
  });

  it("without a certificate no node advertises turns:, hostname or not", () => {
    expect([...plain.turn_urls.a, ...plain.turn_urls.b].filter((u) => u.startsWith("turns:"))).toEqual([]);
    expect(envValue(writtenFile(plain.turn_user_data, "/etc/meridian/turn-agent.env"), "TURN_URLS")).not.toContain("turns:");
  });

  describe("SFU lifecycle watcher (aws-imdsv2)", () => {
    const SCRIPT = "/usr/local/sbin/meridian-sfu-lifecycle";
    const TIMER = "/etc/systemd/system/meridian-sfu-lifecycle.timer";
    const SERVICE = "/etc/systemd/system/meridian-sfu-lifecycle.service";

    it("is written with its modes and enabled after the SFU unit", () => {
      const modes = Object.fromEntries(sfu.write_files.map((f) => [f.path, f.permissions]));
      expect([modes[SCRIPT], modes[SERVICE], modes[TIMER]]).toEqual(["0755", "0644", "0644"]);
      const sfuUnit = sfu.runcmd.indexOf("systemctl enable --now meridian-node-env.service meridian-sfu.service");
      expect(sfuUnit).toBeGreaterThanOrEqual(0);
      expect(sfu.runcmd.indexOf("systemctl enable --now meridian-sfu-lifecycle.timer")).toBeGreaterThan(sfuUnit);
      expect(writtenFile(plain.sfu_user_data, SERVICE)).toContain(`ExecStart=${SCRIPT}\n`);
    });

    it.runIf(hasBinary("systemd-analyze"))("systemd accepts the timer and its service without a warning", async () => {
      const dir = await mkdtemp(join(tmpdir(), "meridian-units-"));
      try {
        const script = join(dir, "meridian-sfu-lifecycle");
        await writeFile(script, writtenFile(plain.sfu_user_data, SCRIPT), { mode: 0o755 });
        await writeFile(join(dir, "meridian-sfu-lifecycle.timer"), writtenFile(plain.sfu_user_data, TIMER));
        await writeFile(join(dir, "meridian-sfu-lifecycle.service"), writtenFile(plain.sfu_user_data, SERVICE).replace(`ExecStart=${SCRIPT}`, `ExecStart=${script}`));
        const { stderr } = await run("systemd-analyze", ["verify", "--man=no", join(dir, "meridian-sfu-lifecycle.timer"), join(dir, "meridian-sfu-lifecycle.service")]);
        expect(stderr).toBe("");
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    describe("run against a fake IMDS and a fake systemctl", () => {
      const TOKEN = "imds-test-token";
      let server: Server;
      let base: string;
      let work: string;
      /** What IMDS answers for target-lifecycle-state; null: 404 (not in an autoscaling group). */
      let state: string | null = null;
      let requests: Array<{ method: string; url: string; token: string | undefined }> = [];

      beforeAll(async () => {
        server = createServer((req, res) => {
          const token = req.headers["x-aws-ec2-metadata-token"] as string | undefined;
          requests.push({ method: req.method!, url: req.url!, token });
          if (req.method === "PUT" && req.url === "/latest/api/token" && req.headers["x-aws-ec2-metadata-token-ttl-seconds"]) {
            res.end(TOKEN);
          } else if (token !== TOKEN) {
            res.writeHead(401).end();
          } else if (req.method === "GET" && req.url === "/latest/meta-data/autoscaling/target-lifecycle-state" && state !== null) {
            res.end(state);
          } else {
            res.writeHead(404).end();
          }
        });
        await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
        base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        work = await mkdtemp(join(tmpdir(), "meridian-lifecycle-"));
        await writeFile(
          join(work, "systemctl"),
          '#!/bin/bash\necho "$*" >>"$SYSTEMCTL_LOG"\nif [ "$1" = is-active ]; then exit "$FAKE_SFU_ACTIVE_EXIT"; fi\n',
          { mode: 0o755 },
        );
      });

      afterAll(async () => {
        server?.close();
        if (work) await rm(work, { recursive: true, force: true });
      });

      async function watch(opts: { state: string | null; sfuActive: boolean; imds?: string }): Promise<{ code: number; systemctl: string[] }> {
        state = opts.state;
        requests = [];
        const original = writtenFile(plain.sfu_user_data, SCRIPT);
        expect(original).toContain("imds=http://169.254.169.254/latest\n");
        const script = join(work, "meridian-sfu-lifecycle");
        await writeFile(script, original.replace("http://169.254.169.254", opts.imds ?? base), { mode: 0o755 });
        const log = join(work, "systemctl.log");
        await writeFile(log, "");
        let code = 0;
        try {
          await run(script, [], {
            env: { PATH: `${work}:${process.env.PATH}`, SYSTEMCTL_LOG: log, FAKE_SFU_ACTIVE_EXIT: opts.sfuActive ? "0" : "3" },
            timeout: 15_000,
          });
        } catch (error) {
          code = (error as { code?: number }).code ?? -1;
        }
        return { code, systemctl: (await readFile(log, "utf8")).split("\n").filter(Boolean) };
      }

      it("Terminated with the SFU running: asks for a token, reads the state with it, stops the unit without waiting for the drain", async () => {
        const { code, systemctl } = await watch({ state: "Terminated", sfuActive: true });
        expect(code).toBe(0);
        expect(systemctl).toEqual(["is-active --quiet meridian-sfu.service", "stop --no-block meridian-sfu.service"]);
        expect(requests).toEqual([
          { method: "PUT", url: "/latest/api/token", token: undefined },
          { method: "GET", url: "/latest/meta-data/autoscaling/target-lifecycle-state", token: TOKEN },
        ]);
      });

      it("InService: leaves the SFU alone", async () => {
        const { code, systemctl } = await watch({ state: "InService", sfuActive: true });
        expect(code).toBe(0);
        expect(systemctl.filter((c) => c.startsWith("stop"))).toEqual([]);
      });

      it("Terminated while the SFU is already stopping: does not stop it again", async () => {
        const { code, systemctl } = await watch({ state: "Terminated", sfuActive: false });
        expect(code).toBe(0);
        expect(systemctl).toEqual(["is-active --quiet meridian-sfu.service"]);
      });

      it("not in an autoscaling group (404) or IMDS unreachable: exits 0 and stops nothing", async () => {
        const absent = await watch({ state: null, sfuActive: true });
        expect(absent).toEqual({ code: 0, systemctl: [] });
        const closed = createServer();
        await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
        const port = (closed.address() as AddressInfo).port;
        await new Promise((resolve) => closed.close(resolve));
        const unreachable = await watch({ state: "Terminated", sfuActive: true, imds: `http://127.0.0.1:${port}` });
        expect(unreachable).toEqual({ code: 0, systemctl: [] });
      });
    });
  });
});
