// Capacity searches: every search in the store, newest first, and, for a
// stored profile (?profile=ID or name), its found rate over time. One
// search's curve and steps are on its own page (Capacity.tsx). Searches run
// through POST /api/v1/capacity or `meshperf --server URL capacity`.

import { useEffect, useMemo, useState } from "react";
import { Link, useSearchParams } from "react-router-dom";
import uPlot from "uplot";
import { api, type CapacityList, type CapacitySearch } from "../api";
import { axis, Chart, cssVar, useTheme } from "../components/Chart";
import { series as lineSeries } from "../components/charts";
import { Empty, ErrorBox, Loading, StateBadge, TableHead, num, useApi, useTitle } from "../components/ui";
import { plainRate, trendOf, type Trend } from "../lib/capacity";
import { fmtTime } from "../lib/format";

export function Capacities() {
  const [params] = useSearchParams();
  const profile = params.get("profile") ?? "";
  useTitle(profile ? `Capacity of ${profile}` : "Capacity");
  const [pages, setPages] = useState<CapacitySearch[][]>([]);
  const [cursor, setCursor] = useState("");
  const first = useApi((s) => {
    const q = new URLSearchParams({ limit: profile ? "1000" : "50" });
    if (profile) q.set("profile", profile);
    return api<CapacityList>(`/api/v1/capacity?${q}`, "GET", undefined, s);
  }, [profile]);
  useEffect(() => {
    setPages([]);
    setCursor(first.data?.next_cursor ?? "");
  }, [first.data]);
  const more = async () => {
    const q = new URLSearchParams({ limit: "50", cursor });
    if (profile) q.set("profile", profile);
    const page = await api<CapacityList>(`/api/v1/capacity?${q}`);
    setPages((p) => [...p, page.searches ?? []]);
    setCursor(page.next_cursor ?? "");
  };
  const searches = useMemo(() => [...(first.data?.searches ?? []), ...pages.flat()], [first.data, pages]);
  return (
    <section>
      <div className="row-between">
        <h1>{profile ? `Capacity of ${profile}` : "Capacity searches"}</h1>
        <button type="button" onClick={first.reload}>
          Refresh
        </button>
      </div>
      <p className="hint">
        A capacity search finds the highest rate a target sustains within its objectives: fixed-rate steps, doubling then bisecting, the answer
        confirmed. {profile ? <Link to="/capacity">All searches</Link> : null}
      </p>
      {first.error ? <ErrorBox error={first.error} retry={first.reload} /> : null}
      {!first.data ? (
        first.error ? null : <Loading what="capacity searches" />
      ) : searches.length === 0 ? (
        <Empty>
          <p>No capacity search{profile ? " of this profile" : ""} yet.</p>
          <pre className="command">meshperf --server URL capacity -f profile.yaml --objective 'p99&lt;=50ms,error_rate&lt;0.1%'</pre>
        </Empty>
      ) : (
        <>
          {profile ? <TrendChart trend={trendOf(searches)} /> : null}
          <SearchTable searches={searches} />
          {cursor ? (
            <button type="button" onClick={more}>
              More
            </button>
          ) : null}
        </>
      )}
    </section>
  );
}

function SearchTable({ searches }: { searches: CapacitySearch[] }) {
  return (
    <div className="table-wrap">
      <table className="list" data-testid="capacity-list">
        <TableHead cols={["name", "state", "outcome", num("sustains"), "profile", "created", "id"]} />
        <tbody>
          {searches.map((c) => (
            <tr key={c.id}>
              <th scope="row">
                <Link to={`/capacity/${c.id}`}>{c.name || c.id}</Link>
                {c.error ? <div className="muted small">{c.error}</div> : null}
              </th>
              <td>
                <StateBadge state={c.state} />
              </td>
              <td>{c.outcome || "–"}</td>
              <td className="num" data-sustained={c.sustained_rps}>
                {c.sustained_rps > 0 ? plainRate(c.sustained_rps) : "–"}
              </td>
              <td>{c.profile_id ? <Link to={`/capacity?profile=${encodeURIComponent(c.profile_id)}`}>over time</Link> : "–"}</td>
              <td title={c.created_at}>{fmtTime(c.created_at)}</td>
              <td className="mono small">{c.id}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** A profile's found rate, one point per search, over time. */
function TrendChart({ trend }: { trend: Trend }) {
  const theme = useTheme();
  const options = useMemo<Omit<uPlot.Options, "width" | "height">>(
    () => ({
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.15 : 1] } },
      axes: [axis(), axis({ label: "sustained rate (req/s)", size: 80 })],
      series: [{ label: "search" }, lineSeries("sustains", cssVar("--series-1"), { width: 2, points: { show: true, size: 8 }, value: (_u, v) => (v == null ? "–" : plainRate(v)) })],
      legend: { live: true },
    }),
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [theme],
  );
  const data = useMemo(() => [trend.times, trend.rps] as uPlot.AlignedData, [trend]);
  if (trend.times.length === 0) return <Empty>No search of this profile found a rate yet.</Empty>;
  return (
    <figure className="chart" data-testid="capacity-trend" data-points={trend.rps.join(",")}>
      <figcaption>Sustained rate of each search of this profile</figcaption>
      <Chart label="sustained rate of each capacity search over time" options={options} data={data} height={220} />
    </figure>
  );
}
