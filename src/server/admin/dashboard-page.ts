/**
 * The dashboard: one self-contained page (no external scripts, styles or fonts) that polls
 * `/status` twice a second and draws every pool's peers as a grid: state, health check latency
 * sparkline, requests per second, requests in flight, and a drain/undrain button. The token,
 * when the admin API needs one, comes from the URL fragment (`/#token=...`) or a prompt, and is
 * kept in the tab's session storage.
 */
export const DASHBOARD_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>edgelb</title>
<style>
  :root { color-scheme: light dark; --up: #1a7f37; --down: #cf222e; --draining: #9a6700; --ejected: #bc4c00; --muted: #6e7781; }
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; }
  header { display: flex; gap: 1rem; align-items: baseline; }
  h1 { font-size: 1.3rem; margin: 0; }
  #updated { color: var(--muted); }
  #problem { color: var(--down); }
  section { margin-top: 1.5rem; }
  h2 { font-size: 1.05rem; margin: 0 0 .5rem; }
  .grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(15rem, 1fr)); gap: .75rem; }
  .peer { border: 1px solid #d0d7de; border-left: 6px solid var(--muted); border-radius: 6px; padding: .6rem .75rem; }
  .peer[data-state="up"] { border-left-color: var(--up); }
  .peer[data-state="down"] { border-left-color: var(--down); }
  .peer[data-state="draining"] { border-left-color: var(--draining); }
  .peer[data-state="ejected"] { border-left-color: var(--ejected); }
  .id { font-family: ui-monospace, monospace; font-weight: 600; }
  .state { float: right; font-weight: 600; text-transform: uppercase; font-size: .8rem; }
  .peer[data-state="up"] .state { color: var(--up); }
  .peer[data-state="down"] .state { color: var(--down); }
  .peer[data-state="draining"] .state { color: var(--draining); }
  .peer[data-state="ejected"] .state { color: var(--ejected); }
  .figures { display: flex; gap: 1rem; color: var(--muted); margin: .3rem 0; }
  .figures b { color: CanvasText; font-weight: 600; }
  svg { width: 100%; height: 32px; display: block; }
  polyline { fill: none; stroke: currentColor; stroke-width: 1.5; }
  .reason { color: var(--down); font-size: .85rem; min-height: 1.2em; }
  button { font: inherit; font-size: .8rem; }
  #routes table { border-collapse: collapse; }
  #routes th, #routes td { text-align: left; padding: .2rem .9rem .2rem 0; font-variant-numeric: tabular-nums; }
  #routes td:first-child { font-family: ui-monospace, monospace; }
</style>
</head>
<body>
<header><h1>edgelb</h1><span id="updated">connecting…</span><span id="problem"></span>
<form id="login" hidden><input name="token" type="password" placeholder="admin token" autocomplete="off"> <button>use</button></form></header>
<main id="pools"></main>
<section id="routes"><h2>routes</h2><table><thead><tr><th>route</th><th>host</th><th>path</th><th>pool</th><th>req/s</th><th>requests</th></tr></thead><tbody></tbody></table></section>
<script>
"use strict";
const REFRESH_MS = 500;
const HISTORY = 120;
const seenPeers = new Map();
const fromFragment = new URLSearchParams(location.hash.slice(1)).get("token");
if (fromFragment) { sessionStorage.setItem("edgelb-token", fromFragment); history.replaceState(null, "", location.pathname); }
let token = sessionStorage.getItem("edgelb-token");
document.getElementById("login").onsubmit = (event) => {
  event.preventDefault();
  token = event.target.elements.token.value;
  sessionStorage.setItem("edgelb-token", token);
  event.target.hidden = true;
  refresh();
};

function headers() { return token ? { authorization: "Bearer " + token } : {}; }

async function api(path, init = {}) {
  const response = await fetch(path, { ...init, headers: headers(), cache: "no-store" });
  if (response.status === 401) {
    document.getElementById("login").hidden = false;
    throw new Error(token ? "the admin token was refused" : "the admin API needs a token");
  }
  if (!response.ok) {
    const body = await response.json().catch(() => ({}));
    throw new Error(path + ": " + response.status + (body.error ? " " + body.error : ""));
  }
  return response.json();
}

function element(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  node.append(...children);
  return node;
}

function sparkline(values) {
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", "0 0 " + HISTORY + " 32");
  svg.setAttribute("preserveAspectRatio", "none");
  const line = document.createElementNS(svg.namespaceURI, "polyline");
  const max = Math.max(1, ...values);
  line.setAttribute("points", values.map((v, i) => (HISTORY - values.length + i) + "," + (31 - (v / max) * 30).toFixed(1)).join(" "));
  svg.append(line);
  return svg;
}

function track(key, peer, now) {
  const previous = seenPeers.get(key) ?? { latency: [], requests: peer.requests, at: now, rps: 0 };
  const seconds = (now - previous.at) / 1000;
  const rps = seconds > 0 ? Math.max(0, peer.requests - previous.requests) / seconds : previous.rps;
  const latency = [...previous.latency, peer.latencyMs ?? 0].slice(-HISTORY);
  const next = { latency, requests: peer.requests, at: now, rps };
  seenPeers.set(key, next);
  return next;
}

function peerCard(pool, peer, now) {
  const seen = track(pool + "/" + peer.id, peer, now);
  const action = peer.drained ? "undrain" : "drain";
  const button = element("button", { type: "button" }, action);
  button.onclick = () => {
    // Draining takes a peer out of rotation at once; a stray click must not.
    if (action === "drain" && !confirm("Drain " + peer.id + " in pool " + pool + "? It gets no new requests until undrained.")) return;
    api("/pools/" + encodeURIComponent(pool) + "/peers/" + encodeURIComponent(peer.id) + "/" + action, { method: "POST" }).then(refresh, show);
  };
  return element("div", { class: "peer", "data-peer": peer.id, "data-state": peer.state },
    element("span", { class: "state" }, peer.state),
    element("div", { class: "id" }, peer.id),
    element("div", { class: "figures" },
      element("span", {}, element("b", {}, seen.rps.toFixed(1)), " req/s"),
      element("span", {}, element("b", {}, String(peer.inFlight)), " in flight"),
      ...(peer.tunnels > 0 ? [element("span", {}, element("b", {}, String(peer.tunnels)), " tunnels")] : []),
      element("span", { title: "how long the last health check took" }, element("b", {}, peer.latencyMs === null ? "–" : peer.latencyMs.toFixed(1)), " ms check")),
    sparkline(seen.latency),
    element("div", { class: "reason" }, peer.state === "down" && peer.reason ? peer.reason : ""),
    button);
}

function render(report) {
  const now = Date.now();
  const sections = report.pools.map((pool) =>
    element("section", { "data-pool": pool.name },
      element("h2", {}, pool.name + " — " + pool.peers.filter((p) => p.state === "up").length + "/" + pool.peers.length + " up"),
      element("div", { class: "grid" }, ...pool.peers.map((peer) => peerCard(pool.name, peer, now)))));
  document.getElementById("pools").replaceChildren(...sections);
  document.querySelector("#routes tbody").replaceChildren(...report.routes.map((route) => {
    const seen = track("route:" + route.name, route, now);
    return element("tr", { "data-route": route.name },
      ...[route.name, route.host ?? "*", route.path, route.pool, seen.rps.toFixed(1), String(route.requests)].map((cell) => element("td", {}, cell)));
  }));
  document.getElementById("updated").textContent = "updated " + new Date(report.time).toLocaleTimeString();
  document.getElementById("problem").textContent = "";
}

function show(error) { document.getElementById("problem").textContent = String(error.message ?? error); }

async function refresh() {
  try { render(await api("/status")); } catch (error) { show(error); }
}

async function loop() {
  await refresh();
  setTimeout(loop, REFRESH_MS);
}
loop();
</script>
</body>
</html>
`;
