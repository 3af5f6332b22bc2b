import { describe, expect, it } from "vitest";
import { ApiError } from "../api";
import { serverProblems } from "./NewTest";

describe("the server's problems on the form", () => {
  it("puts each named field's problem on that field, without repeating its path", () => {
    const err = new ApiError(422, "invalid", "…", "profile_document.clients[0].rps", [
      { field: "profile_document.clients[0].rps", message: "clients[0].rps: must be >= 0, got -1" },
      { field: "profile_document.clients[0].endpoint_urls[0]", message: 'clients[0].endpoint_urls[0]: invalid URL "ftp://x"' },
      { field: "profile_document.duration", message: "duration: required unless meshperf.requests is set" },
    ]);
    const { fields, general } = serverProblems(err, 1);
    expect(fields).toEqual({
      "clients.0.rps": "must be >= 0, got -1",
      "clients.0.targets": 'invalid URL "ftp://x"',
      duration: "required unless meshperf.requests is set",
    });
    expect(general).toEqual([]);
  });

  it("lists problems with no field on the form above it", () => {
    const err = new ApiError(403, "forbidden", 'profile_document.clients[3].endpoint_urls[0]: host "x" is not among the targets', "profile_document.clients[3].endpoint_urls[0]");
    const { fields, general } = serverProblems(err, 1);
    expect(fields).toEqual({});
    expect(general).toHaveLength(1);
  });
});
