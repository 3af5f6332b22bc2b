import { describe, expect, it } from "vitest";
import { fmtInZone, zoneName } from "./tz";

describe("times in a schedule's zone", () => {
  it("writes the time in the zone, naming it", () => {
    expect(fmtInZone("2026-12-04T02:00:00Z", "Europe/Berlin")).toBe("Fri 4 Dec 2026, 03:00 Europe/Berlin");
    expect(fmtInZone("2026-07-04T02:00:00Z", "Europe/Berlin")).toBe("Sat 4 Jul 2026, 04:00 Europe/Berlin"); // summer time
    expect(fmtInZone("2026-12-04T02:00:00Z", "America/New_York")).toBe("Thu 3 Dec 2026, 21:00 America/New_York");
  });
  it("takes no zone as UTC, and says so", () => {
    expect(zoneName("")).toBe("UTC");
    expect(fmtInZone("2026-12-04T02:05:00Z", "")).toBe("Fri 4 Dec 2026, 02:05 UTC");
    expect(fmtInZone("2026-12-04T02:05:00Z", undefined)).toBe("Fri 4 Dec 2026, 02:05 UTC");
  });
  it("falls back to UTC for a zone the browser does not know, saying which", () => {
    expect(fmtInZone("2026-12-04T02:05:00Z", "Mars/Olympus")).toBe("Fri 4 Dec 2026, 02:05 UTC (unknown zone Mars/Olympus)");
  });
  it("writes – for no time", () => {
    expect(fmtInZone(undefined, "UTC")).toBe("–");
    expect(fmtInZone("0001-01-01T00:00:00Z", "UTC")).toBe("–");
  });
});
