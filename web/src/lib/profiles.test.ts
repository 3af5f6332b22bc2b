import { afterEach, describe, expect, it, vi } from "vitest";
import { listAllDesigns, listAllProfiles, maxPages } from "./profiles";

// A stand-in for the server's paged GET /api/v1/profiles (the Go tests
// page the real one): names p000…, pages of `limit` after the cursor.
function pagedServer(total: number) {
  const names = Array.from({ length: total }, (_, i) => `p${String(i).padStart(5, "0")}`);
  const seen: string[] = [];
  vi.stubGlobal("fetch", async (input: string) => {
    const u = new URL(input, "http://x");
    seen.push(u.search);
    const limit = Number(u.searchParams.get("limit"));
    const after = u.searchParams.get("cursor") ? atob(u.searchParams.get("cursor")!) : "";
    const rest = names.filter((n) => n > after);
    const page = rest.slice(0, limit);
    const body: Record<string, unknown> = { profiles: page.map((name) => ({ id: name, name, revision: 1 })) };
    if (rest.length > limit) body.next_cursor = btoa(page[page.length - 1]);
    return new Response(JSON.stringify(body), { status: 200, headers: { "Content-Type": "application/json" } });
  });
  return seen;
}

afterEach(() => vi.unstubAllGlobals());

describe("listAllProfiles", () => {
  it("follows next_cursor until the last page", async () => {
    const seen = pagedServer(2500);
    const got = await listAllProfiles();
    expect(got.truncated).toBe(false);
    expect(got.items.map((p) => p.name)).toEqual(Array.from({ length: 2500 }, (_, i) => `p${String(i).padStart(5, "0")}`));
    expect(seen).toHaveLength(3);
  });

  it("stops after maxPages and says the list is cut", async () => {
    const seen = pagedServer(1000 * maxPages + 1);
    const got = await listAllProfiles();
    expect(got.truncated).toBe(true);
    expect(got.items).toHaveLength(1000 * maxPages);
    expect(seen).toHaveLength(maxPages);
  });
});

describe("listAllDesigns", () => {
  it("pages /api/v1/designs by the same cursor", async () => {
    const seen: string[] = [];
    vi.stubGlobal("fetch", async (input: string) => {
      const u = new URL(input, "http://x");
      seen.push(u.pathname + u.search);
      const body = u.searchParams.get("cursor")
        ? { designs: [{ id: "d2", name: "b", revision: 1 }] }
        : { designs: [{ id: "d1", name: "a", revision: 3 }], next_cursor: btoa("a") };
      return new Response(JSON.stringify(body), { status: 200, headers: { "Content-Type": "application/json" } });
    });
    const got = await listAllDesigns();
    expect(got).toEqual({ items: [{ id: "d1", name: "a", revision: 3 }, { id: "d2", name: "b", revision: 1 }], truncated: false });
    expect(seen).toEqual(["/api/v1/designs?limit=1000", `/api/v1/designs?limit=1000&cursor=${encodeURIComponent(btoa("a"))}`]);
  });
});
