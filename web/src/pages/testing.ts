// Helpers of the page tests (not part of the app).
import { vi } from "vitest";

/** Stubs fetch to answer by path, as the server would; other paths are 404 with the API's error body. */
export function serve(routes: Record<string, unknown>) {
  vi.stubGlobal(
    "fetch",
    vi.fn(async (input: RequestInfo | URL) => {
      const path = new URL(String(input), "http://meshperf.test").pathname;
      const body = routes[path];
      if (body === undefined) return new Response(JSON.stringify({ error: { code: "not_found", message: `no ${path}` } }), { status: 404 });
      return new Response(JSON.stringify(body), { status: 200, headers: { "Content-Type": "application/json" } });
    }),
  );
}
