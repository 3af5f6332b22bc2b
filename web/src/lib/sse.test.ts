import { describe, expect, it } from "vitest";
import { parseSSE, readSSE } from "./sse";

describe("parseSSE", () => {
  it("splits messages and keeps the unfinished rest", () => {
    const { messages, rest } = parseSSE('event: state\ndata: {"a":1}\n\n: keep-alive\n\nevent: progress\ndata: {"b"');
    expect(messages).toEqual([{ event: "state", data: '{"a":1}' }]);
    expect(rest).toBe('event: progress\ndata: {"b"');
  });

  it("joins data lines and reads CRLF", () => {
    expect(parseSSE("data: a\r\ndata: b\r\n\r\n").messages).toEqual([{ event: "message", data: "a\nb" }]);
  });
});

describe("readSSE", () => {
  it("reassembles messages split across chunks", async () => {
    const chunks = ["event: state\nda", 'ta: {"x":1}\n', "\nevent: progress\ndata: 2\n\n", "event: state\ndata: 3"];
    const enc = new TextEncoder();
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        chunks.forEach((s) => c.enqueue(enc.encode(s)));
        c.close();
      },
    });
    const got: string[] = [];
    await readSSE(body, (m) => got.push(`${m.event}=${m.data}`));
    expect(got).toEqual(['state={"x":1}', "progress=2", "state=3"]);
  });
});
