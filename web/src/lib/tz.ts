// Times in a named time zone, for schedules: a schedule's next run is shown
// in the schedule's own zone, with the zone named, whatever the browser's.

/** An IANA zone's name as shown: "" (a schedule without one) is UTC. */
export function zoneName(tz: string | undefined): string {
  return tz && tz.trim() !== "" ? tz.trim() : "UTC";
}

/**
 * t in the time zone tz, with the zone named: "Fri 4 Dec 2026, 03:00
 * Europe/Berlin". An unknown zone falls back to UTC, saying so.
 */
export function fmtInZone(t: string | undefined, tz: string | undefined): string {
  if (!t || t.startsWith("0001-")) return "–";
  const d = new Date(t);
  if (Number.isNaN(d.getTime())) return "–";
  let zone = zoneName(tz);
  let f: Intl.DateTimeFormat;
  try {
    f = new Intl.DateTimeFormat("en-GB", { timeZone: zone, weekday: "short", day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  } catch {
    zone = "UTC (unknown zone " + zone + ")";
    f = new Intl.DateTimeFormat("en-GB", { timeZone: "UTC", weekday: "short", day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit", hourCycle: "h23" });
  }
  const p = Object.fromEntries(f.formatToParts(d).map((x) => [x.type, x.value]));
  return `${p.weekday} ${p.day} ${p.month} ${p.year}, ${p.hour}:${p.minute} ${zone}`;
}
