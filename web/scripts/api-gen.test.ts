// The chain Go types → openapi.json → api.gen.ts → the UI's type check.
// The Go test (internal/server, TestOpenAPISchemas) keeps openapi.json equal
// to the Go types; these keep api.gen.ts equal to openapi.json, and show a
// field renamed in the document fails the UI's type check.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { afterAll, describe, expect, it } from "vitest";

const web = fileURLToPath(new URL("..", import.meta.url));
const openapiFile = resolve(web, "../internal/server/openapi.json");
const genFile = resolve(web, "src/api.gen.ts");
const cli = resolve(web, "node_modules/openapi-typescript/bin/cli.js");
const tmp = mkdtempSync(join(tmpdir(), "meshperf-api-gen-"));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** The TypeScript openapi-typescript (the pinned one) writes for a document. */
function generate(doc: unknown, name: string): string {
  const input = join(tmp, `${name}.json`);
  const output = join(tmp, `${name}.ts`);
  writeFileSync(input, JSON.stringify(doc));
  execFileSync(process.execPath, [cli, input, "-o", output], { stdio: "pipe" });
  return readFileSync(output, "utf8");
}

// Files other than api.gen.ts are parsed once for every check.
const parsed = new Map<string, ts.SourceFile>();

/** The type errors of the UI's file root when api.gen.ts reads genText. */
function typeErrors(root: string, genText: string): string[] {
  const cfg = ts.readConfigFile(resolve(web, "tsconfig.json"), ts.sys.readFile);
  const { options } = ts.parseJsonConfigFileContent(cfg.config, ts.sys, web);
  const host = ts.createCompilerHost(options);
  const getSourceFile = host.getSourceFile;
  host.getSourceFile = (file, lang, onError, create) => {
    if (resolve(file) === genFile) return ts.createSourceFile(file, genText, lang);
    let sf = parsed.get(file);
    if (!sf) {
      sf = getSourceFile.call(host, file, lang, onError, create);
      if (sf) parsed.set(file, sf);
    }
    return sf;
  };
  const program = ts.createProgram([resolve(web, root)], options, host);
  return ts.getPreEmitDiagnostics(program).map((d) => ts.flattenDiagnosticMessageText(d.messageText, "\n"));
}

const doc = JSON.parse(readFileSync(openapiFile, "utf8"));

describe("api.gen.ts", () => {
  it("is what openapi-typescript writes for openapi.json (npm run gen:api)", () => {
    expect(readFileSync(genFile, "utf8")).toBe(generate(doc, "same"));
  });

  it("fails the type check of a page using a field openapi.json renames", () => {
    const renamed = structuredClone(doc);
    const run = renamed.components.schemas.Run.properties;
    run.result = run.result_id;
    delete run.result_id;
    const gen = generate(renamed, "renamed");
    const current = readFileSync(genFile, "utf8");
    expect(gen).not.toBe(current);

    expect(typeErrors("src/pages/Dashboard.tsx", current)).toEqual([]);
    const errors = typeErrors("src/pages/Dashboard.tsx", gen);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.every((e) => e.includes("'result_id'"))).toBe(true);
  }, 120_000);
});
