import { describe, expect, it } from "vitest";
import { applyForm, defaultConnections, docToForm, fieldKey, fromYAML, starterDoc, toYAML, validateForm } from "./profile";

describe("form and YAML", () => {
  it("round-trips the starter profile", () => {
    const doc = starterDoc("http://127.0.0.1:8080/");
    const form = docToForm(doc);
    expect(form.clients[0].targets).toEqual(["http://127.0.0.1:8080/"]);
    expect(form.clients[0].rps).toBe("100"); // meshperf run URL: open loop at 100/s
    expect(form.clients[0].connections).toBe("10"); // over 10 connections, as the CLI
    expect(form.slo).toEqual(["p99<=50ms", "error_rate<1%"]);
    expect(fromYAML(toYAML(applyForm(doc, form)))).toEqual(doc);
  });

  it("starts with the defaults its hints name, and writes the protocol by name", () => {
    const doc = starterDoc("http://127.0.0.1:8080/");
    const form = docToForm(doc);
    expect(form.clients[0].connections).toBe(String(defaultConnections));
    expect(defaultConnections).toBe(10); // loadgen.DefaultConnections
    const yaml = toYAML(applyForm(doc, form));
    expect(yaml).toMatch(/protocol: http\n/);
    expect(yaml).not.toMatch(/protocol: 1/);
    // A document with SMP's protocol number gets the name once the form writes it.
    const numbered = fromYAML("clients:\n- protocol: 4\n  endpoint_urls: [http://a/]\n- protocol: 1\n  endpoint_urls: [http://b/]\n");
    const out = applyForm(numbered, docToForm(numbered));
    expect(out.clients.map((c: { protocol: unknown }) => c.protocol)).toEqual(["grpc", "http"]);
  });

  it("writes form edits into the document and keeps fields the form does not show", () => {
    const doc = fromYAML(`
name: shop
duration: 30s
clients:
- loadGenerator: meshperf
  endpointUrls: [http://a/]
  rps: 10
  cookies: {session: abc}
  ssl_certificate: PEM
  additional_options: '{"x":1}'
`);
    const form = docToForm(doc);
    expect(form.clients[0].targets).toEqual(["http://a/"]);
    form.clients[0].rps = "500";
    form.clients[0].shapeKind = "ramp";
    form.clients[0].shapeArgs = "100-500/10s";
    form.clients[0].headers = [["x-test", "1"]];
    form.clients[0].agentsCount = "3";
    form.clients[0].agentsSelector = "zone=a";
    form.clients[0].agentsOnDrop = "abort";
    form.warmup = "2s";
    const out = applyForm(doc, form);
    const c = out.clients[0];
    expect(c).toMatchObject({
      load_generator: "meshperf",
      endpoint_urls: ["http://a/"],
      rps: 500,
      cookies: { session: "abc" },
      ssl_certificate: "PEM",
      additional_options: '{"x":1}',
      headers: { "x-test": "1" },
      meshperf: { rate_shape: "ramp:100-500/10s" },
      agents: { count: 3, selector: "zone=a", on_drop: "abort" },
    });
    expect(c.endpointUrls).toBeUndefined();
    expect(out.meshperf).toEqual({ warmup: "2s" });
    // and back: what the form shows after the YAML is what was typed
    expect(docToForm(fromYAML(toYAML(out)))).toEqual(form);
  });

  it("removes emptied fields instead of writing empty values", () => {
    const doc = starterDoc("http://x/");
    const form = docToForm(doc);
    form.slo = [];
    form.warmup = "";
    const out = applyForm(doc, form);
    expect(out.meshperf).toBeUndefined();
  });

  it("reads Meshery's file form", () => {
    const form = docToForm(fromYAML("test:\n  name: m\n  duration: 5s\n  clients: [{endpoint_urls: ['http://b/'], rps: 5}]\nmesh: {type: 3}\n"));
    expect(form.name).toBe("m");
    expect(form.clients[0].targets).toEqual(["http://b/"]);
  });

  it("says where YAML is broken", () => {
    expect(() => fromYAML("name: [unclosed")).toThrow(/line 1/);
    expect(() => fromYAML("- a list")).toThrow(/mapping/);
  });
});

describe("validation", () => {
  it("names each bad field", () => {
    const form = docToForm(starterDoc("http://x/"));
    form.duration = "ten seconds";
    form.clients[0].targets = ["not a url"];
    form.clients[0].rps = "-5";
    form.clients[0].shapeKind = "steps";
    form.clients[0].agentsSelector = "zone";
    expect(Object.keys(validateForm(form)).sort()).toEqual(
      ["clients.0.agentsSelector", "clients.0.rate", "clients.0.rps", "clients.0.targets", "duration"].sort(),
    );
  });

  it("passes a good profile", () => {
    expect(validateForm(docToForm(starterDoc("http://127.0.0.1:8080/")))).toEqual({});
  });

  it("maps the server's field paths onto the form", () => {
    expect(fieldKey("profile_document.clients[0].endpoint_urls[1]")).toBe("clients.0.targets");
    expect(fieldKey("clients[2].meshperf.rate_shape")).toBe("clients.2.rate");
    expect(fieldKey("meshperf.slo[1]")).toBe("slo");
    expect(fieldKey("duration")).toBe("duration");
    expect(fieldKey("profile_document.clients[0].agents.selector")).toBe("clients.0.agentsSelector");
  });
});
