// Every stored profile or design, page by page: the API returns named
// documents a page at a time (by name, next_cursor for the next), and the
// pages that list or pick them filter them here. Bounded: at most maxPages
// pages of 1,000.

import type { components } from "../api.gen";
import { api, type ProfileList, type ProfileView } from "../api";

type DesignView = components["schemas"]["DesignView"];
type DesignList = components["schemas"]["DesignList"];

export const maxPages = 20;

/** A list of every named document the caller may see, and whether it was cut at maxPages. */
export type AllOf<T> = { items: T[]; truncated: boolean };

async function listAll<T, P extends { next_cursor?: string }>(path: string, items: (page: P) => T[], signal?: AbortSignal): Promise<AllOf<T>> {
  const out: T[] = [];
  let cursor = "";
  for (let n = 0; n < maxPages; n++) {
    const q = new URLSearchParams({ limit: "1000" });
    if (cursor) q.set("cursor", cursor);
    const page = await api<P>(`${path}?${q}`, "GET", undefined, signal);
    out.push(...items(page));
    if (!page.next_cursor) return { items: out, truncated: false };
    cursor = page.next_cursor;
  }
  return { items: out, truncated: true };
}

export function listAllProfiles(signal?: AbortSignal): Promise<AllOf<ProfileView>> {
  return listAll<ProfileView, ProfileList>("/api/v1/profiles", (p) => p.profiles, signal);
}

export function listAllDesigns(signal?: AbortSignal): Promise<AllOf<DesignView>> {
  return listAll<DesignView, DesignList>("/api/v1/designs", (p) => p.designs, signal);
}
