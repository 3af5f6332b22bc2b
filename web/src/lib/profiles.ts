// Every stored profile, page by page: the API returns profiles a page at a
// time (by name, next_cursor for the next), and the pages that list or pick
// profiles filter them here. Bounded: at most maxPages pages of 1,000.

import { api, type ProfileList, type ProfileView } from "../api";

export const maxPages = 20;

export async function listAllProfiles(signal?: AbortSignal): Promise<{ profiles: ProfileView[]; truncated: boolean }> {
  const profiles: ProfileView[] = [];
  let cursor = "";
  for (let n = 0; n < maxPages; n++) {
    const q = new URLSearchParams({ limit: "1000" });
    if (cursor) q.set("cursor", cursor);
    const page = await api<ProfileList>(`/api/v1/profiles?${q}`, "GET", undefined, signal);
    profiles.push(...page.profiles);
    if (!page.next_cursor) return { profiles, truncated: false };
    cursor = page.next_cursor;
  }
  return { profiles, truncated: true };
}
