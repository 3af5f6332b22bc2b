// Vite empties dist/ before building; put back the placeholder that keeps
// dist/ in git, so `go build` works on a checkout that never ran npm.
import { writeFileSync } from "node:fs";
writeFileSync(new URL("../dist/.gitkeep", import.meta.url), "");
