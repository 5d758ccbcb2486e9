import { describe, expect, it } from "bun:test";
import { humanDuration } from "./age.ts";

describe("humanDuration", () => {
  const s = 1000;
  it.each([
    [5 * s, "5s"],
    [119 * s, "119s"],
    [150 * s, "2m30s"],
    [10 * 60 * s, "10m"],
    [3 * 3600 * s, "3h"],
    [3 * 3600 * s + 60 * s, "3h1m"],
    [30 * 3600 * s, "30h"],
    [3 * 86400 * s, "3d"],
    [692 * 86400 * s, "692d"],
    [800 * 86400 * s, "2y70d"],
    [-5 * s, "<invalid>"],
  ])("%p ms is %p", (ms, want) => {
    expect(humanDuration(ms as number)).toBe(want as string);
  });
});
