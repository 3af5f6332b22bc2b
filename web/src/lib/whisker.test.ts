import { describe, expect, it } from "vitest";
import { whiskerEnds } from "./whisker";

describe("range bars", () => {
  it("draws a wide spread as it is", () => {
    expect(whiskerEnds(120, 40, 8)).toEqual([40, 120]);
  });
  it("draws a tiny spread at the minimum length, centred", () => {
    expect(whiskerEnds(100, 101, 8)).toEqual([96.5, 104.5]);
    expect(whiskerEnds(50, 50, 8)).toEqual([46, 54]);
  });
});
