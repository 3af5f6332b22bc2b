// A conformance test's status as a badge, with a word for readers of
// screens and the symbol the matrix packs into a cell.

const symbols: Record<string, string> = { pass: "✓", fail: "✗", skip: "–", "not-run": "!" };

export function ConformanceBadge({ status, compact }: { status: string; compact?: boolean }) {
  if (!status) return <span className="muted" aria-label="not in this result">·</span>;
  return (
    <span className={`badge conf-${status}`} title={status} aria-label={compact ? status : undefined}>
      {compact ? symbols[status] ?? status : status}
    </span>
  );
}
