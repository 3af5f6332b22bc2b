// The result's notes, and every export format to download.

import { useState } from "react";
import { download, exportFormats, type Result } from "../../api";
import { ErrorBox, errorText } from "../ui";

export function Notes({ r }: { r: Result }) {
  if ((r.notes ?? []).length === 0) return null;
  return (
    <div className="panel">
      <h2>Notes</h2>
      <ul>
        {r.notes!.map((n, i) => (
          <li key={i}>{n}</li>
        ))}
      </ul>
    </div>
  );
}

export function Downloads({ id }: { id: string }) {
  const [dlError, setDlError] = useState<string>();
  const dl = async (format: string) => {
    setDlError(undefined);
    try {
      await download(id, format);
    } catch (e) {
      setDlError(errorText(e));
    }
  };
  return (
    <div className="panel">
      <h2>Downloads</h2>
      <div className="actions wrap">
        {exportFormats.map((f) => (
          <button key={f.format} type="button" onClick={() => dl(f.format)} data-format={f.format}>
            {f.label}
          </button>
        ))}
      </div>
      {dlError && <ErrorBox error={dlError} />}
    </div>
  );
}
