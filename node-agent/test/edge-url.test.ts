import { describe, expect, it } from "vitest";
import { edgeConnectUrl } from "../src/edge-url.ts";

describe("edgeConnectUrl", () => {
  it.each([
    ["http://127.0.0.1:8787", "ws://127.0.0.1:8787/api/nodes/connect"],
    ["https://meridian.example.com/", "wss://meridian.example.com/api/nodes/connect"],
    ["wss://edge.example.com/prefix", "wss://edge.example.com/prefix/api/nodes/connect"],
  ])("%s -> %s", (input, expected) => {
    expect(edgeConnectUrl(input)).toBe(expected);
  });
});
