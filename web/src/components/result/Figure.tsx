// One labelled figure of a <dl className="figures">.

export function Figure({ label, value, sub }: { label: string; value: string; sub?: string }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd>
        {value}
        {sub ? <small> {sub}</small> : null}
      </dd>
    </div>
  );
}
