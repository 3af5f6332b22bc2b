// The shell: navigation, theme, team-mode login, and the routes. Every page
// has its own URL, so a result or a comparison can be shared as a link.

import { createContext, lazy, Suspense, useCallback, useContext, useEffect, useState } from "react";
import { NavLink, Route, Routes, useLocation, useNavigate } from "react-router-dom";
import { api, ApiError, logout, onUnauthorized, type Info, type User, type Me } from "./api";
import { ErrorBoundary, ErrorBox, Loading } from "./components/ui";
import { Dashboard } from "./pages/Dashboard";
import { Login } from "./pages/Login";
import { NewTest } from "./pages/NewTest";
import { LiveRun } from "./pages/LiveRun";
import { Profiles, ProfileDetail } from "./pages/Profiles";
import { Schedules } from "./pages/Schedules";
import { Agents } from "./pages/Agents";
import { Cluster } from "./pages/Cluster";
import { Designs, DesignDetail } from "./pages/Designs";
import { Experiments } from "./pages/Experiments";
import { Capacities } from "./pages/CapacityList";
import { Conformance } from "./pages/Conformance";
import { NotFound } from "./pages/NotFound";

// The chart-heavy pages load on demand, so the dashboard comes up fast.
const ResultPage = lazy(() => import("./pages/Result"));
const ComparePage = lazy(() => import("./pages/Compare"));
const ExperimentPage = lazy(() => import("./pages/Experiment"));
const CapacityPage = lazy(() => import("./pages/Capacity"));
const ConformanceResultPage = lazy(() => import("./pages/ConformanceResult"));

export interface Session {
  info: Info | null;
  /** "team" when the server asks for a login. */
  mode: "single-user" | "team" | "unknown";
  user: User | null;
  reload: () => void;
}

const SessionContext = createContext<Session>({ info: null, mode: "unknown", user: null, reload: () => {} });
export const useSession = () => useContext(SessionContext);

type Theme = "light" | "dark";

function initialTheme(): Theme {
  const saved = localStorage.getItem("meshperf.theme");
  const theme: Theme = saved === "light" || saved === "dark" ? saved : window.matchMedia?.("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  // Set before the first render, so charts take the right colours at once.
  document.documentElement.dataset.theme = theme;
  return theme;
}

export function App() {
  const [theme, setTheme] = useState<Theme>(initialTheme);
  const [session, setSession] = useState<Omit<Session, "reload">>({ info: null, mode: "unknown", user: null });
  const [loadError, setLoadError] = useState<unknown>();
  const [loaded, setLoaded] = useState(false);
  const [menuOpen, setMenuOpen] = useState(false);
  const navigate = useNavigate();
  const location = useLocation();

  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    localStorage.setItem("meshperf.theme", theme);
  }, [theme]);

  const load = useCallback(async () => {
    try {
      const info = await api<Info>("/api/v1/info");
      let user: User | null = null;
      if (info.mode === "team") user = (await api<Me>("/api/v1/me")).user;
      setSession({ info, mode: info.mode, user });
      setLoadError(undefined);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) setSession({ info: null, mode: "team", user: null });
      else setLoadError(e);
    } finally {
      setLoaded(true);
    }
  }, []);

  useEffect(() => {
    load();
  }, [load]);

  useEffect(
    () =>
      onUnauthorized(() => {
        setSession((s) => ({ ...s, mode: "team", user: null }));
      }),
    [],
  );

  const needLogin = loaded && session.mode === "team" && !session.user;
  useEffect(() => {
    if (needLogin && location.pathname !== "/login") {
      navigate(`/login?next=${encodeURIComponent(location.pathname + location.search)}`, { replace: true });
    }
  }, [needLogin, location.pathname, location.search, navigate]);

  useEffect(() => setMenuOpen(false), [location.pathname]);

  const signOut = async () => {
    await logout();
    setSession({ info: null, mode: "team", user: null });
    navigate("/login");
  };

  const ctx: Session = { ...session, reload: load };
  const links = [
    ["/", "Dashboard"],
    ["/new", "New test"],
    ["/compare", "Compare"],
    ["/experiments", "Experiments"],
    ["/capacity", "Capacity"],
    ["/conformance", "Conformance"],
    ["/profiles", "Profiles"],
    ["/schedules", "Schedules"],
    ["/agents", "Agents"],
    ["/cluster", "Cluster"],
    ["/designs", "Designs"],
  ];
  return (
    <SessionContext.Provider value={ctx}>
      <a className="skip" href="#main">
        Skip to content
      </a>
      <header className="top">
        <NavLink to="/" className="brand" aria-label="meshperf home">
          <img src="/favicon.svg" alt="" width={22} height={22} /> meshperf
        </NavLink>
        <button type="button" className="menu-toggle" aria-expanded={menuOpen} aria-controls="nav" onClick={() => setMenuOpen((o) => !o)}>
          Menu
        </button>
        <nav id="nav" aria-label="Main" className={menuOpen ? "open" : ""}>
          {!needLogin &&
            links.map(([to, label]) => (
              <NavLink key={to} to={to} end={to === "/"}>
                {label}
              </NavLink>
            ))}
        </nav>
        <div className="top-right">
          {session.user && (
            <span className="user">
              <span aria-label="signed in as">{session.user.name}</span>
              <button type="button" className="link" onClick={signOut}>
                Log out
              </button>
            </span>
          )}
          <button
            type="button"
            className="theme"
            aria-label={`Switch to ${theme === "dark" ? "light" : "dark"} theme`}
            onClick={() => setTheme(theme === "dark" ? "light" : "dark")}
          >
            {theme === "dark" ? "☀" : "☾"}
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        {loadError ? <ErrorBox error={loadError} retry={load} /> : null}
        {!loaded ? (
          <Loading what="meshperf" />
        ) : (
          <ErrorBoundary resetKey={location.pathname + location.search}>
          <Suspense fallback={<Loading what="the page" />}>
            <Routes>
              <Route path="/login" element={<Login onLoggedIn={load} />} />
              {needLogin ? (
                <Route path="*" element={<Loading what="the login page" />} />
              ) : (
                <>
                  <Route path="/" element={<Dashboard />} />
                  <Route path="/new" element={<NewTest />} />
                  <Route path="/runs/:id" element={<LiveRun />} />
                  <Route path="/results/:id" element={<ResultPage />} />
                  <Route path="/compare" element={<ComparePage />} />
                  <Route path="/experiments" element={<Experiments />} />
                  <Route path="/experiments/:id" element={<ExperimentPage />} />
                  <Route path="/capacity" element={<Capacities />} />
                  <Route path="/capacity/:id" element={<CapacityPage />} />
                  <Route path="/conformance" element={<Conformance />} />
                  <Route path="/conformance/:id" element={<ConformanceResultPage />} />
                  <Route path="/profiles" element={<Profiles />} />
                  <Route path="/profiles/:ref" element={<ProfileDetail />} />
                  <Route path="/schedules" element={<Schedules />} />
                  <Route path="/agents" element={<Agents />} />
                  <Route path="/cluster" element={<Cluster />} />
                  <Route path="/designs" element={<Designs />} />
                  <Route path="/designs/:ref" element={<DesignDetail />} />
                  <Route path="*" element={<NotFound />} />
                </>
              )}
            </Routes>
          </Suspense>
          </ErrorBoundary>
        )}
      </main>
      <footer className="foot">
        meshperf {session.info?.version ?? ""} · {session.mode === "team" ? "team mode" : session.mode === "single-user" ? "single-user mode" : ""} ·{" "}
        <a href="/api/v1/openapi.json">API</a>
      </footer>
    </SessionContext.Provider>
  );
}
