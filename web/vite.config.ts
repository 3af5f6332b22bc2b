import { defineConfig } from "vitest/config";
import react from "@vitejs/plugin-react";

// The UI is served by meshperf itself (the API is on the same origin); in
// development, `npm run dev` proxies the API to a local meshperf server.
export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 600 },
  server: { proxy: { "/api": process.env.MESHPERF_URL ?? "http://127.0.0.1:7070" } },
  // Page tests render in jsdom; on a loaded two-core CI machine a render can take seconds.
  test: { environment: "node", testTimeout: 30000, include: ["src/**/*.test.ts", "src/**/*.test.tsx", "scripts/**/*.test.ts"] },
});
