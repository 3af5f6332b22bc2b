import { Link, useLocation } from "react-router-dom";
import { useTitle } from "../components/ui";

export function NotFound() {
  const loc = useLocation();
  useTitle("Not found");
  return (
    <section>
      <h1>No such page</h1>
      <p>
        There is no page at <code>{loc.pathname}</code>. Go to the <Link to="/">dashboard</Link>.
      </p>
    </section>
  );
}
