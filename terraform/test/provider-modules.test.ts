import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { hclAvailable, loadHclParser, parseModule, type HclModule } from "./support/hcl.ts";
import { TERRAFORM_DIR } from "./support/terraform.ts";

/**
 * Invariants of the modules that need the AWS provider, checked on their parsed HCL
 * (no provider plugin can be downloaded here, so `terraform validate` cannot run on them
 * everywhere). Which ports are opened is checked on evaluated values in ports.test.ts.
 */

const parse = await loadHclParser();

type Body = Record<string, unknown>;
const first = (blocks: unknown): Body => (blocks as Body[])[0]!;

function resources(module: HclModule, type: string): Record<string, Body> {
  const byName = (module.resource?.[type] ?? {}) as Record<string, Body[]>;
  return Object.fromEntries(Object.entries(byName).map(([name, bodies]) => [name, bodies[0]!]));
}

async function moduleDirs(): Promise<string[]> {
  const dirs: string[] = [];
  for (const group of ["modules", "envs"]) {
    for (const name of await readdir(join(TERRAFORM_DIR, group))) dirs.push(join(TERRAFORM_DIR, group, name));
  }
  dirs.push(join(TERRAFORM_DIR, "test/fixtures/render"));
  return dirs;
}

describe.runIf(hclAvailable(parse))("provider modules (parsed HCL)", () => {
  let region: HclModule;
  let example: HclModule;
  let all: Array<{ dir: string; module: HclModule }>;

  beforeAll(async () => {
    region = await parseModule(parse!, join(TERRAFORM_DIR, "modules/aws-region"));
    example = await parseModule(parse!, join(TERRAFORM_DIR, "envs/example"));
    all = await Promise.all((await moduleDirs()).map(async (dir) => ({ dir, module: await parseModule(parse!, dir) })));
  });

  describe("aws-region security groups", () => {
    it("open inbound ports only through node-bootstrap's firewall output (from ports.json)", () => {
      const ingress = resources(region, "aws_vpc_security_group_ingress_rule");
      expect(Object.keys(ingress).sort()).toEqual(["sfu", "turn"]);
      for (const [role, rule] of Object.entries(ingress)) {
        expect(rule.for_each).toBe(`\${local.ingress.${role}}`);
        expect(rule.security_group_id).toBe(`\${aws_security_group.${role}.id}`);
        expect(rule.from_port).toBe("${each.value.from_port}");
        expect(rule.to_port).toBe("${each.value.to_port}");
        expect(rule.ip_protocol).toBe("${each.value.protocol}");
        expect(rule.cidr_ipv4).toBe("${each.value.cidr}");
      }
      const locals = Object.assign({}, ...((region.locals as { list?: Body[] })?.list ?? [])) as Body;
      // One rule per firewall rule and source CIDR, from the bootstrap module's firewall output alone.
      expect(String(locals.ingress)).toContain("module.bootstrap.firewall");
      expect(String(locals.ingress)).toContain("local.source_cidrs[rule.source]");
    });

    it("map 'any' to the internet, 'vpc' to the VPC's CIDR only, and 'sfu' (pipes) to the SFU peers' CIDRs", () => {
      const locals = Object.assign({}, ...((region.locals as { list?: Body[] })?.list ?? [])) as Body;
      expect(locals.source_cidrs).toEqual({ any: ["0.0.0.0/0"], vpc: ["${var.vpc_cidr}"], sfu: "${var.pipe_peer_cidrs}" });
    });

    it("have no other way in: no inline ingress, no legacy rule resources, no SSH", () => {
      for (const group of Object.values(resources(region, "aws_security_group"))) expect(group.ingress).toBeUndefined();
      expect(region.resource?.aws_security_group_rule).toBeUndefined();
      expect(region.resource?.aws_vpc_security_group_ingress_rule).toBeDefined();
      expect(JSON.stringify(region)).not.toMatch(/"(from|to)_port":\s*22\b/);
    });

    it("attach the SFU group to the SFU launch template and the TURN group to TURN instances", () => {
      const templates = resources(region, "aws_launch_template");
      expect(first(templates.sfu!.network_interfaces).security_groups).toEqual(["${aws_security_group.sfu.id}"]);
      expect(resources(region, "aws_instance").turn!.vpc_security_group_ids).toEqual(["${aws_security_group.turn.id}"]);
    });
  });

  describe("aws-region nodes", () => {
    it("require IMDSv2 with one hop on every launch template", () => {
      const locals = Object.assign({}, ...((region.locals as { list?: Body[] })?.list ?? [])) as Body;
      expect(locals.metadata_options).toMatchObject({ http_tokens: "required", http_put_response_hop_limit: 1 });
      for (const template of Object.values(resources(region, "aws_launch_template"))) {
        expect(first(template.metadata_options).http_tokens).toBe("${local.metadata_options.http_tokens}");
      }
    });

    it("feed node-bootstrap's user-data to SFU and TURN nodes", () => {
      expect(resources(region, "aws_launch_template").sfu!.user_data).toBe("${base64gzip(module.bootstrap.sfu_user_data)}");
      expect(resources(region, "aws_instance").turn!.user_data_base64).toBe("${base64gzip(module.bootstrap.turn_user_data[each.key])}");
    });

    it("scale SFUs on CPU and give every TURN node an Elastic IP", () => {
      const policy = resources(region, "aws_autoscaling_policy").sfu_cpu!;
      expect(policy.policy_type).toBe("TargetTrackingScaling");
      expect(JSON.stringify(policy.target_tracking_configuration)).toContain("ASGAverageCPUUtilization");
      expect(resources(region, "aws_eip").turn!.for_each).toBe("${local.turn_nodes}");
      expect(resources(region, "aws_eip_association").turn!.for_each).toBe("${local.turn_nodes}");
    });

    it("hold terminating SFU instances in a hook that outlasts the node's stop and lets them go when it runs out", () => {
      const hooks = resources(region, "aws_autoscaling_lifecycle_hook");
      expect(Object.keys(hooks)).toEqual(["sfu_drain"]);
      const hook = hooks.sfu_drain!;
      expect(hook.autoscaling_group_name).toBe("${aws_autoscaling_group.sfu.name}");
      expect(hook.lifecycle_transition).toBe("autoscaling:EC2_INSTANCE_TERMINATING");
      expect(hook.default_result).toBe("CONTINUE");
      expect(hook.heartbeat_timeout).toBe("${local.sfu_termination_heartbeat_s}");
      const locals = Object.assign({}, ...((region.locals as { list?: Body[] })?.list ?? [])) as Body;
      expect(locals.sfu_termination_heartbeat_s).toMatch(/^\$\{module\.bootstrap\.sfu_shutdown\.stop_timeout_s \+ \d+\}$/);
      // Completed by its timeout, not by the node: no notification target, no role.
      expect(hook.notification_target_arn).toBeUndefined();
      expect(hook.role_arn).toBeUndefined();
      // An inline hook would be deleted with the group, after its instances waited it out.
      expect(resources(region, "aws_autoscaling_group").sfu!.initial_lifecycle_hook).toBeUndefined();
    });

    it("grant nodes no AWS permission beyond Session Manager", () => {
      const attachments = Object.values(resources(region, "aws_iam_role_policy_attachment"));
      expect(attachments.map((a) => a.policy_arn)).toEqual([
        "arn:${data.aws_partition.current.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore",
      ]);
      expect(region.resource?.aws_iam_role_policy).toBeUndefined();
      expect(region.resource?.aws_iam_policy).toBeUndefined();
    });
  });

  describe("secrets in every module", () => {
    const secretName = /secret|password|private_key|token|tls/i;

    it("every secret-looking variable is sensitive and has no default", () => {
      let seen = 0;
      for (const { dir, module } of all) {
        for (const [name, bodies] of Object.entries((module.variable ?? {}) as Record<string, Body[]>)) {
          const body = bodies[0]!;
          if (!secretName.test(name) && body.sensitive !== true) continue;
          seen++;
          expect(body.sensitive, `${dir}: variable ${name} must be sensitive`).toBe(true);
          expect(Object.hasOwn(body, "default"), `${dir}: variable ${name} must have no default`).toBe(false);
        }
      }
      expect(seen).toBeGreaterThanOrEqual(10);
    });

    it("every output carrying user-data or a coturn config is sensitive", () => {
      for (const { dir, module } of all) {
        for (const [name, bodies] of Object.entries((module.output ?? {}) as Record<string, Body[]>)) {
          const body = bodies[0]!;
          if (/user_data|turnserver_conf|secret/.test(`${name} ${JSON.stringify(body.value)}`)) {
            expect(body.sensitive, `${dir}: output ${name} must be sensitive`).toBe(true);
          }
        }
      }
    });

    it("no secret value is written into any .tf file", () => {
      const text = JSON.stringify(all.map((m) => m.module));
      expect(text).not.toMatch(/static-auth-secret=[^$"\\]/);
      expect(text).not.toMatch(/BEGIN [A-Z ]*PRIVATE KEY/);
    });
  });

  describe("envs/example", () => {
    it("has three regions, each module on its own aliased provider", () => {
      const providers = (example.provider as { aws: Body[] }).aws;
      const aliases = Object.fromEntries(providers.map((p) => [p.alias, p.region]));
      expect(aliases).toEqual({ eu: "eu-central-1", us: "us-east-1", ap: "ap-southeast-1" });
      const modules = example.module as Record<string, Body[]>;
      expect(Object.keys(modules).sort()).toEqual(["ap", "eu", "us"]);
      for (const [name, bodies] of Object.entries(modules)) {
        const call = bodies[0]!;
        expect(call.source).toBe("../../modules/aws-region");
        expect(call.providers).toEqual({ aws: `\${aws.${name}}` });
        expect(call.node_region).toBe(aliases[name]);
      }
      const cidrs = Object.values(modules).map((b) => b[0]!.vpc_cidr);
      expect(new Set(cidrs).size).toBe(3);
    });

    it("lists every region's nodes in its outputs", () => {
      const nodes = JSON.stringify((example.output as Record<string, Body[]>).nodes![0]!.value);
      for (const name of ["eu", "us", "ap"]) expect(nodes).toContain(`module.${name}`);
    });
  });
});
