// The studio's entry point: routes on the URL fragment (#/, #/pipelines/3,
// #/runs/7) so that the server serves one shell at `/`.
import { StrictMode, useEffect, useState } from "react";
import { createRoot } from "react-dom/client";
import { ReactFlowProvider } from "@xyflow/react";
import "@xyflow/react/dist/style.css";
import "./styles.css";
import { api, errorText } from "./lib/api";
import type { Catalog, PipelineDetail } from "./lib/types";
import { Link, Toasts, TopBar } from "./components/ui";
import { ListPage } from "./pages/ListPage";
import { RunPage } from "./pages/RunPage";
import { Editor } from "./editor/Editor";

let catalogPromise: Promise<Catalog> | null = null;
const loadCatalog = () => (catalogPromise ??= api<Catalog>("GET", "/api/catalog").catch((e) => {
  catalogPromise = null;
  throw e;
}));

function useRoute(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const h = () => setHash(location.hash);
    window.addEventListener("hashchange", h);
    return () => window.removeEventListener("hashchange", h);
  }, []);
  return hash.replace(/^#/, "") || "/";
}

function Problem({ text }: { text: string }) {
  return (
    <>
      <TopBar />
      <main className="list-main">
        <p className="field-error" role="alert">{text}</p>
        <Link to="/">Back to the pipelines</Link>
      </main>
    </>
  );
}

function EditorRoute({ id }: { id: number }) {
  const [state, setState] = useState<{ cat: Catalog; detail: PipelineDetail } | { error: string } | null>(null);
  useEffect(() => {
    setState(null);
    Promise.all([loadCatalog(), api<PipelineDetail>("GET", `/api/pipelines/${id}`)]).then(
      ([cat, detail]) => setState({ cat, detail }),
      (e) => setState({ error: `Couldn't open pipeline ${id}: ${errorText(e)}` }),
    );
  }, [id]);
  if (!state) return <div className="loading" aria-busy="true">Loading the editor…</div>;
  if ("error" in state) return <Problem text={state.error} />;
  return <ReactFlowProvider><Editor key={id} cat={state.cat} detail={state.detail} /></ReactFlowProvider>;
}

function RunRoute({ id }: { id: number }) {
  const [cat, setCat] = useState<Catalog | { error: string } | null>(null);
  useEffect(() => {
    loadCatalog().then(setCat, (e) => setCat({ error: `Couldn't load the operator catalog: ${errorText(e)}` }));
  }, []);
  if (!cat) return <div className="loading" aria-busy="true">Loading…</div>;
  if ("error" in cat) return <Problem text={cat.error} />;
  return <RunPage id={id} cat={cat} />;
}

function App() {
  const route = useRoute();
  let m: RegExpMatchArray | null;
  let page;
  if (route === "/" || route === "") page = <ListPage />;
  else if ((m = route.match(/^\/pipelines\/(\d+)$/))) page = <EditorRoute id={Number(m[1])} />;
  else if ((m = route.match(/^\/runs\/(\d+)$/))) page = <RunRoute id={Number(m[1])} />;
  else page = <Problem text={`There is no page at "${route}". Go back to the pipeline list.`} />;
  return (
    <>
      {page}
      <Toasts />
    </>
  );
}

void loadCatalog().catch(() => undefined); // start early; the editor needs it
createRoot(document.getElementById("app")!).render(<StrictMode><App /></StrictMode>);
