/**
 * The dashboard: one self-contained page (no external scripts, styles or fonts) that polls
 * `/status` twice a second and draws the totals (requests per second, error rate, upstream
 * latency p50/p99 over the last 10 s), then every pool's peers as a grid: state and since when,
 * the same figures per peer, requests in flight, health check latency sparkline, and a
 * drain/undrain button; then the routes. Rates and percentiles come from the difference between
 * readings of the counters and histogram buckets `/status` gives, so they are of the last
 * seconds, not of the process's life. The token,
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
  #about { color: var(--muted); }
  #totals { display: flex; gap: 2rem; }
  #totals div { display: flex; flex-direction: column; }
  #totals b { font-size: 1.4rem; font-variant-numeric: tabular-nums; }
  #totals span { color: var(--muted); }
  .since { color: var(--muted); font-size: .8rem; }
</style>
</head>
<body>
<header><h1>edgelb</h1><span id="about"></span><span id="updated">connecting…</span><span id="problem"></span>
<form id="login" hidden><input name="token" type="password" placeholder="admin token" autocomplete="off"> <button>use</button></form></header>
<section id="totals">
  <div><b data-figure="rps">–</b><span>req/s</span></div>
  <div><b data-figure="errors">–</b><span>5xx rate</span></div>
  <div><b data-figure="p50">–</b><span title="upstream latency: from sending the request to the response head">p50 ms</span></div>
  <div><b data-figure="p99">–</b><span title="upstream latency: from sending the request to the response head">p99 ms</span></div>
</section>
<main id="pools"></main>
<section id="routes"><h2>routes</h2><table><thead><tr><th>route</th><th>host</th><th>path</th><th>pool</th><th>req/s</th><th>5xx</th><th>requests</th></tr></thead><tbody></tbody></table></section>
<script>
"use strict";
const REFRESH_MS = 500;
const HISTORY = 120;
const WINDOW_MS = 10000;
const seenPeers = new Map();
const windows = new Map();
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
  const previous = seenPeers.get(key) ?? { latency: [] };
  const next = { latency: [...previous.latency, peer.latencyMs ?? 0].slice(-HISTORY) };
  seenPeers.set(key, next);
  return next;
}

/** The readings of the last WINDOW_MS for key, this one included: their difference is what happened meanwhile. */
function windowOf(key, reading) {
  const kept = (windows.get(key) ?? []).filter((earlier) => reading.at - earlier.at <= WINDOW_MS);
  kept.push(reading);
  windows.set(key, kept);
  const first = kept[0];
  const seconds = (reading.at - first.at) / 1000;
  const requests = reading.requests - first.requests;
  return {
    rps: seconds > 0 ? Math.max(0, requests) / seconds : 0,
    requests,
    errors: reading.errors - first.errors,
    buckets: (reading.buckets ?? []).map((count, i) => count - ((first.buckets ?? [])[i] ?? 0)),
  };
}

/** The q-th quantile (ms) of cumulative bucket counts over bounds (ms); null when nothing was counted. */
function quantile(buckets, bounds, q) {
  const total = buckets[buckets.length - 1] ?? 0;
  if (total <= 0) return null;
  const rank = q * total;
  let below = 0;
  for (let i = 0; i < buckets.length; i++) {
    if (buckets[i] >= rank) {
      if (i >= bounds.length) return Infinity;
      const lower = i === 0 ? 0 : bounds[i - 1];
      const inside = buckets[i] - below;
      return lower + (inside > 0 ? (rank - below) / inside : 1) * (bounds[i] - lower);
    }
    below = buckets[i];
  }
  return Infinity;
}

function ms(value, bounds) {
  if (value === null) return "–";
  if (value === Infinity) return "> " + bounds[bounds.length - 1];
  return value < 10 ? value.toFixed(2) : value.toFixed(0);
}

function percent(errors, requests) { return requests > 0 ? (100 * errors / requests).toFixed(1) + "%" : "–"; }

function ago(iso, now) {
  if (!iso) return "";
  const seconds = Math.max(0, (now - Date.parse(iso)) / 1000);
  if (seconds < 60) return seconds.toFixed(0) + "s";
  if (seconds < 3600) return Math.floor(seconds / 60) + "m" + String(Math.floor(seconds % 60)).padStart(2, "0") + "s";
  if (seconds < 86400) return Math.floor(seconds / 3600) + "h" + String(Math.floor((seconds % 3600) / 60)).padStart(2, "0") + "m";
  return Math.floor(seconds / 86400) + "d" + String(Math.floor((seconds % 86400) / 3600)).padStart(2, "0") + "h";
}

function peerCard(pool, peer, now, bounds, recent) {
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
    element("div", { class: "since" }, peer.since ? "since " + ago(peer.since, now) + " ago" : ""),
    element("div", { class: "figures" },
      element("span", {}, element("b", {}, recent.rps.toFixed(1)), " req/s"),
      element("span", {}, element("b", {}, percent(recent.errors, recent.requests)), " 5xx"),
      element("span", { title: "upstream latency p50 / p99, last 10 s" }, element("b", {}, ms(quantile(recent.buckets, bounds, 0.5), bounds) + " / " + ms(quantile(recent.buckets, bounds, 0.99), bounds)), " ms")),
    element("div", { class: "figures" },
      element("span", {}, element("b", {}, String(peer.inFlight)), " in flight"),
      ...(peer.tunnels > 0 ? [element("span", {}, element("b", {}, String(peer.tunnels)), " tunnels")] : []),
      element("span", { title: "how long the last health check took" }, element("b", {}, peer.latencyMs === null ? "–" : peer.latencyMs.toFixed(1)), " ms check")),
    sparkline(seen.latency),
    element("div", { class: "reason" }, peer.state === "down" && peer.reason ? peer.reason : ""),
    button);
}

function render(report) {
  const now = Date.now();
  const at = Date.parse(report.time);
  const bounds = report.latencyBoundsMs;
  let latency = [];
  const sections = report.pools.map((pool) => {
    const sum = { rps: 0, requests: 0, errors: 0, buckets: [] };
    const cards = pool.peers.map((peer) => {
      const recent = windowOf("peer:" + pool.name + "/" + peer.id, { at, requests: peer.requests, errors: peer.errors, buckets: peer.latencyBuckets });
      sum.rps += recent.rps; sum.requests += recent.requests; sum.errors += recent.errors;
      sum.buckets = recent.buckets.map((count, i) => count + (sum.buckets[i] ?? 0)).concat(sum.buckets.slice(recent.buckets.length));
      return peerCard(pool.name, peer, now, bounds, recent);
    });
    latency = sum.buckets.map((count, i) => count + (latency[i] ?? 0)).concat(latency.slice(sum.buckets.length));
    return element("section", { "data-pool": pool.name },
      element("h2", {}, pool.name + " — " + pool.peers.filter((p) => p.state === "up").length + "/" + pool.peers.length + " up"),
      element("div", { class: "figures pool-figures" },
        element("span", {}, element("b", {}, sum.rps.toFixed(1)), " req/s"),
        element("span", {}, element("b", {}, percent(sum.errors, sum.requests)), " 5xx"),
        element("span", { title: "upstream latency p50 / p99 of the pool's peers, last 10 s" },
          element("b", {}, ms(quantile(sum.buckets, bounds, 0.5), bounds) + " / " + ms(quantile(sum.buckets, bounds, 0.99), bounds)), " ms")),
      element("div", { class: "grid" }, ...cards));
  });
  document.getElementById("pools").replaceChildren(...sections);
  let rps = 0, requests = 0, errors = 0;
  document.querySelector("#routes tbody").replaceChildren(...report.routes.map((route) => {
    const recent = windowOf("route:" + route.name, { at, requests: route.requests, errors: route.errors });
    rps += recent.rps; requests += recent.requests; errors += recent.errors;
    return element("tr", { "data-route": route.name },
      ...[route.name, route.host ?? "*", route.path, route.pool, recent.rps.toFixed(1), percent(recent.errors, recent.requests), String(route.requests)].map((cell) => element("td", {}, cell)));
  }));
  const figure = (name, text) => { document.querySelector('#totals [data-figure="' + name + '"]').textContent = text; };
  figure("rps", rps.toFixed(1));
  figure("errors", percent(errors, requests));
  figure("p50", ms(quantile(latency, bounds, 0.5), bounds));
  figure("p99", ms(quantile(latency, bounds, 0.99), bounds));
  document.getElementById("about").textContent = "v" + report.version + " · up " + ago(report.startedAt, now);
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
