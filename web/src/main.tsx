/**
 * The dashboard: hash routes (#/, #/new, #/searches/:id, #/trials/:id, #/leaderboard), the API key (asked for when
 * missing or refused; `#key=…` in the address is taken and removed), and the views.
 */
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { adoptKeyFromFragment, api, ApiError, apiKey, setApiKey } from "./api";
import "./style.css";
import { CreateSearchView } from "./views/create";
import { LeaderboardView } from "./views/leaderboard";
import { SearchView } from "./views/search";
import { SearchesView } from "./views/searches";
import { TrialView } from "./views/trial";

function useRoute(): { path: string; query: URLSearchParams } {
  const read = () => {
    const raw = location.hash.replace(/^#/, "") || "/";
    const [path, q] = raw.split("?");
    return { path: path || "/", query: new URLSearchParams(q ?? "") };
  };
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const on = () => {
      adoptKeyFromFragment();
      setRoute(read());
    };
    addEventListener("hashchange", on);
    return () => removeEventListener("hashchange", on);
  }, []);
  return route;
}

function KeyPrompt({ reason, onKey }: { reason?: string; onKey: (key: string) => void }) {
  const [value, setValue] = useState("");
  return (
    <form
      class="key-prompt"
      data-testid="key-prompt"
      onSubmit={(e) => {
        e.preventDefault();
        if (value.trim()) onKey(value.trim());
      }}
    >
      <h2>API key</h2>
      <p>
        Every call of this page sends an API key of a project (<code>npm run keys -- create</code>; <code>npm run demo</code> prints a link with one). It is kept in this browser's
        local storage.
      </p>
      {reason && <p class="error">{reason}</p>}
      <input name="key" type="password" autocomplete="off" placeholder="nas_…" value={value} onInput={(e) => setValue(e.currentTarget.value)} />
      <button type="submit" class="primary">
        Use this key
      </button>
    </form>
  );
}

function App() {
  const route = useRoute();
  const [key, setKey] = useState(apiKey());
  const [refused, setRefused] = useState<string | undefined>();

  // A key that the API refuses (unknown, revoked) is asked for again; AUTH=off needs none at all.
  useEffect(() => {
    api.searches(1).then(
      () => setRefused(undefined),
      (e) => {
        if (e instanceof ApiError && e.status === 401) setRefused(key ? `The API refused the key: ${e.message}` : e.message);
      },
    );
  }, [key]);

  const nav = [
    { to: "/", label: "Searches", on: route.path === "/" || route.path.startsWith("/searches") || route.path === "/new" },
    { to: "/leaderboard", label: "Leaderboard", on: route.path === "/leaderboard" },
  ];
  let view;
  const m = /^\/(searches|trials)\/([0-9a-f-]{36})$/.exec(route.path);
  if (refused !== undefined)
    view = (
      <KeyPrompt
        reason={key ? refused : undefined}
        onKey={(k) => {
          setApiKey(k);
          setKey(k);
        }}
      />
    );
  else if (m?.[1] === "searches") view = <SearchView id={m[2]!} key={m[2]} />;
  else if (m?.[1] === "trials") view = <TrialView id={m[2]!} key={m[2]} />;
  else if (route.path === "/new") view = <CreateSearchView />;
  else if (route.path === "/leaderboard") view = <LeaderboardView query={route.query} />;
  else view = <SearchesView />;

  return (
    <>
      <header>
        <a href="#/" class="brand">
          NAS service
        </a>
        <nav>
          {nav.map((n) => (
            <a key={n.to} href={`#${n.to}`} class={n.on ? "active" : ""}>
              {n.label}
            </a>
          ))}
          <a href="/docs" target="_blank" rel="noreferrer">
            API
          </a>
        </nav>
        {key && (
          <button
            class="link"
            onClick={() => {
              setApiKey(null);
              setKey(null);
            }}
          >
            forget key
          </button>
        )}
      </header>
      <main>{view}</main>
    </>
  );
}

adoptKeyFromFragment();
render(<App />, document.getElementById("app")!);
