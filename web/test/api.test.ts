import { describe, expect, it } from "vitest";
import { parseRoomInput } from "../src/lib/api.ts";

describe("parseRoomInput", () => {
  it.each([
    ["abcd-efgh-ijkl", "abcd-efgh-ijkl"],
    ["  ABCD-EFGH-IJKL ", "abcd-efgh-ijkl"],
    ["https://meet.example.com/r/abcd-efgh-ijkl", "abcd-efgh-ijkl"],
    ["http://127.0.0.1:8787/r/abcd-efgh-ijkl?x=1", "abcd-efgh-ijkl"],
  ])("reads %s", (input, expected) => {
    expect(parseRoomInput(input)).toBe(expected);
  });

  it.each(["", "hello", "abcd-efgh-ijk1", "abcd-efgh-ijklm", "abcd_efgh_ijkl"])("refuses %j", (input) => {
    expect(parseRoomInput(input)).toBeUndefined();
  });
});
