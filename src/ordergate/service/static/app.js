// ordergate dashboard: plain JS, no build step. State comes from the API; changes come
// from /v1/events (server-sent events read with fetch, so the token goes in a header
// and never in a URL): status changes, fills, and marks (which move unrealized P&L).
//
// Numbers: the API sends exact Decimal strings. They are added and multiplied here as
// scaled BigInts (never floats), and rounded only for display: money to the cent
// (half-even, as ordergate books it), average prices to 4 places. Times are UTC.
"use strict";

const $ = (sel) => document.querySelector(sel);
const TERMINAL = new Set(["FILLED", "CANCELED", "REJECTED", "EXPIRED", "FAILED"]);
const PAGE = 200;
const orders = new Map(); // order_id -> order fields (the page on screen, plus live ones)
let token = sessionStorage.getItem("ordergate.token") || "";
let refreshTimer = null;
let filters = { status: "", symbol: "", strategy: "" };
let offset = 0;
let nextOffset = null;
let tradingRoute = null; // discovered from /openapi.json: the path with GET and PUT
let lastPositions = [];

// ------------------------------------------------------------ exact decimals

const Dec = {
  parse(text) {
    const s = String(text == null || text === "" ? "0" : text).trim();
    const neg = s.startsWith("-");
    const body = s.replace(/^[-+]/, "");
    const [whole, frac = ""] = body.split(".");
    return { n: BigInt((neg ? "-" : "") + (whole || "0") + frac), s: frac.length };
  },
  align(a, b) {
    const s = Math.max(a.s, b.s);
    return [a.n * 10n ** BigInt(s - a.s), b.n * 10n ** BigInt(s - b.s), s];
  },
  add(a, b) { const [x, y, s] = Dec.align(a, b); return { n: x + y, s }; },
  sub(a, b) { const [x, y, s] = Dec.align(a, b); return { n: x - y, s }; },
  mul(a, b) { return { n: a.n * b.n, s: a.s + b.s }; },
  neg(a) { return { n: -a.n, s: a.s }; },
  abs(a) { return { n: a.n < 0n ? -a.n : a.n, s: a.s }; },
  zero() { return { n: 0n, s: 0 }; },
  // half-even to `places`, as ordergate books money (0.645 -> 0.64, 0.655 -> 0.66)
  round(a, places) {
    if (a.s <= places) return { n: a.n * 10n ** BigInt(places - a.s), s: places };
    const div = 10n ** BigInt(a.s - places);
    let q = a.n / div;
    const r = a.n - q * div;
    const twice = (r < 0n ? -r : r) * 2n;
    if (twice > div || (twice === div && q % 2n !== 0n)) q += a.n < 0n ? -1n : 1n;
    return { n: q, s: places };
  },
  // canonical text (what the API sends: no grouping), or grouped for a reader
  text(a, minPlaces = 0, grouped = false) {
    const neg = a.n < 0n;
    const digits = (neg ? -a.n : a.n).toString().padStart(a.s + 1, "0");
    let whole = a.s ? digits.slice(0, -a.s) : digits;
    let frac = a.s ? digits.slice(-a.s) : "";
    frac = frac.replace(/0+$/, "");
    while (frac.length < minPlaces) frac += "0";
    if (grouped) whole = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    const out = frac ? `${whole}.${frac}` : whole;
    return neg && /[1-9]/.test(out) ? "-" + out : out;
  },
};

// money: booked to the cent, always two places; null/empty stays empty
function money(text) {
  if (text == null || text === "") return "";
  return Dec.text(Dec.round(Dec.parse(text), 2), 2, true);
}
// a cost (commission): shown as what it takes away
function cost(text) {
  if (text == null || text === "") return "";
  const d = Dec.round(Dec.parse(text), 2);
  return d.n === 0n ? "0.00" : "-" + Dec.text(Dec.abs(d), 2, true);
}
// prices ordergate derives (average cost): at most 4 places
function price(text) {
  if (text == null || text === "") return "";
  return Dec.text(Dec.round(Dec.parse(text), 4), 0, true);
}
function sign(text) { return String(text || "0").trim().startsWith("-") ? "neg" : "pos"; }

// ------------------------------------------------------------------ plumbing

function headers(json) {
  const h = {};
  if (token) h["Authorization"] = "Bearer " + token;
  if (json) h["Content-Type"] = "application/json";
  return h;
}

function toast(text) {
  const el = $("#toast");
  el.textContent = text;
  el.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { el.hidden = true; }, 4000);
}

async function api(path, options = {}) {
  const res = await fetch(path, { ...options, headers: headers(Boolean(options.body)) });
  const body = await res.json().catch(() => null);
  if (!res.ok) {
    const err = body && body.error ? body.error : { code: "HTTP_" + res.status, message: "" };
    const e = new Error(err.code + ": " + err.message);
    e.status = res.status;
    throw e;
  }
  return body;
}

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text == null ? "" : String(text);
  if (cls) td.className = cls;
  return td;
}

// "2026-12-01 17:36:13.123 UTC": the date, the time and the zone, always
function when(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toISOString().replace("T", " ").slice(0, 23) + " UTC";
}

function today() { return new Date().toISOString().slice(0, 10); }

// ------------------------------------------------------------------ the blotter

function matches(o) {
  if (filters.status && o.status !== filters.status) return false;
  if (filters.symbol && o.symbol !== filters.symbol) return false;
  if (filters.strategy && o.strategy_id !== filters.strategy) return false;
  return true;
}

function mergeOrder(update, fromStream) {
  const id = update.order_id;
  const known = orders.get(id);
  if (known) {
    const kv = known.version, uv = update.version;
    if (kv != null && uv != null && uv < kv) return; // an older snapshot arrived late
    if (TERMINAL.has(known.status) && !TERMINAL.has(update.status) && uv == null) return;
  } else if (fromStream && offset > 0) {
    return; // an older page is on screen: a new order belongs to the first page
  }
  const merged = { ...(known || {}), ...update };
  if (!merged.created_at) merged.created_at = update.ts || new Date().toISOString();
  orders.set(id, merged);
  if (matches(merged)) renderOrder(merged, !known);
  else removeRow(id);
  if (merged.parent_order_id) renderBracketOf(merged.parent_order_id);
}

function removeRow(id) {
  const row = $("#blotter tbody").querySelector(`tr[data-order-id="${CSS.escape(id)}"]`);
  if (row) row.remove();
}

function children(parentId) {
  return [...orders.values()].filter((o) => o.parent_order_id === parentId);
}

function legName(o) {
  return o.order_type === "STOP" || o.order_type === "STOP_LIMIT" ? "SL" : "TP";
}

function orderLink(id, label) {
  const a = document.createElement("a");
  a.href = "#order=" + encodeURIComponent(id);
  a.className = "order-link mono";
  a.dataset.orderId = id;
  a.textContent = label;
  a.onclick = (ev) => { ev.preventDefault(); openOrder(id); };
  return a;
}

function bracketCell(o) {
  const td = document.createElement("td");
  td.className = "bracket";
  if (o.parent_order_id) {
    td.append(`${legName(o)} of `, orderLink(o.parent_order_id, "entry"));
    td.dataset.parent = o.parent_order_id;
    return td;
  }
  const legs = children(o.order_id);
  legs.forEach((leg, i) => {
    if (i) td.append(" ");
    const px = leg.stop_price || leg.limit_price || "";
    td.append(orderLink(leg.order_id, `${legName(leg)} ${price(px)}`));
  });
  return td;
}

function renderBracketOf(parentId) {
  const parent = orders.get(parentId);
  if (parent && matches(parent)) renderOrder(parent, false, true);
}

function renderOrder(o, isNew, quiet) {
  const body = $("#blotter tbody");
  let row = body.querySelector(`tr[data-order-id="${CSS.escape(o.order_id)}"]`);
  if (!row) {
    row = document.createElement("tr");
    row.dataset.orderId = o.order_id;
    isNew = true;
  }
  const px = o.limit_price || o.stop_price || "";
  const idCell = document.createElement("td");
  idCell.className = "mono order-id";
  idCell.append(orderLink(o.order_id, o.order_id));
  const rejection = document.createElement("td");
  rejection.className = "rejection";
  if (o.error_code) {
    const code = document.createElement("span");
    code.className = "code";
    code.textContent = o.error_code;
    const message = document.createElement("span");
    message.className = "message";
    message.textContent = String(o.error_message || "").replace(o.error_code + ": ", "");
    rejection.append(code, " ", message);
  }
  const cells = [
    cell(when(o.created_at), "time"),
    idCell,
    cell(o.strategy_id || "", "strategy"),
    cell(o.symbol),
    cell(o.side, "side-" + (o.side || "").toLowerCase()),
    cell(o.qty, "num"),
    cell(o.order_type),
    cell(o.time_in_force || "", "tif"),
    cell(price(px), "num"),
    cell(o.status, "status"),
    cell(o.filled_qty, "num"),
    cell(price(o.avg_fill_price), "num avg"),
    cell(cost(o.fees), "num fees cost"),
    bracketCell(o),
    rejection,
  ];
  cells[9].dataset.status = o.status;
  const actions = document.createElement("td");
  if (!TERMINAL.has(o.status) && o.status !== "PENDING_CANCEL") {
    const btn = document.createElement("button");
    btn.textContent = "Cancel";
    btn.className = "small";
    btn.onclick = () => cancelOrder(o.order_id);
    actions.appendChild(btn);
  }
  row.replaceChildren(...cells, actions);
  row.dataset.status = o.status;
  if (isNew) {
    insertSorted(body, row, o);
    row.classList.add("flash");
  } else if (!quiet) {
    row.classList.remove("flash");
    void row.offsetWidth; // restart the highlight
    row.classList.add("flash");
  }
  showCount();
}

function insertSorted(body, row, o) {
  // newest first; a row older than every row on screen goes to the bottom
  for (const other of body.children) {
    const known = orders.get(other.dataset.orderId);
    if (known && String(known.created_at) < String(o.created_at)) {
      body.insertBefore(row, other);
      return;
    }
  }
  body.appendChild(row);
}

function showCount() {
  const shown = $("#blotter tbody").children.length;
  $("#order-count").textContent = `(${shown} shown)`;
  const first = offset + 1, last = offset + shown;
  $("#page-info").textContent = shown ? `${first}–${last}` : "none";
  $("#page-newer").disabled = offset === 0;
  $("#page-older").disabled = nextOffset == null;
}

function query() {
  const q = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
  if (filters.status) q.append("status", filters.status);
  if (filters.symbol) q.set("symbol", filters.symbol);
  if (filters.strategy) q.set("strategy_id", filters.strategy);
  return q.toString();
}

async function loadOrders() {
  const page = await api("/v1/orders?" + query());
  nextOffset = page.next_offset;
  orders.clear();
  $("#blotter tbody").replaceChildren();
  for (const o of page.orders) orders.set(o.order_id, o);
  // the legs of a bracket on screen, even when the page holds only its entry
  const parents = page.orders.filter((o) => o.parent_order_id).map((o) => o.parent_order_id);
  for (const o of page.orders) renderOrder(o, true, true);
  for (const id of parents) renderBracketOf(id);
  showCount();
}

async function cancelOrder(id) {
  try {
    mergeOrder(await api(`/v1/orders/${encodeURIComponent(id)}/cancel`, { method: "POST", body: "{}" }));
  } catch (e) { toast(e.message); }
}

// ------------------------------------------------------------- one order, opened

async function openOrder(id) {
  let o;
  try {
    o = await api(`/v1/orders/${encodeURIComponent(id)}`);
  } catch (e) { toast(e.message); return; }
  $("#detail").hidden = false;
  $("#detail").dataset.orderId = id;
  $("#detail-id").textContent = id;
  const terms = [
    ["status", o.status], ["strategy", o.strategy_id], ["symbol", o.symbol], ["side", o.side],
    ["qty", o.qty], ["type", o.order_type], ["time in force", o.time_in_force],
    ["limit", price(o.limit_price)], ["stop", price(o.stop_price)],
    ["filled", o.filled_qty], ["avg px", price(o.avg_fill_price)], ["fees", cost(o.fees)],
    ["created", when(o.created_at)], ["updated", when(o.updated_at)],
    ["client order id", o.client_order_id], ["broker order id", o.broker_order_id || ""],
    ["idempotency key", o.idempotency_key], ["parent", o.parent_order_id || ""],
    ["rejection", o.error_code ? `${o.error_code} ${String(o.error_message || "").replace(o.error_code + ": ", "")}` : ""],
  ];
  $("#detail-terms").replaceChildren(...terms.flatMap(([k, v]) => {
    const dt = document.createElement("dt"); dt.textContent = k;
    const dd = document.createElement("dd"); dd.textContent = v == null ? "" : String(v);
    dd.dataset.term = k;
    return [dt, dd];
  }));
  $("#detail-fills tbody").replaceChildren(...(o.fills || []).map((f) => {
    const tr = document.createElement("tr");
    tr.append(cell(when(f.ts), "time"), cell(f.exec_id, "mono"), cell(f.last_qty, "num"),
      cell(f.last_px, "num"), cell(cost(f.commission), "num cost"), cell(f.liquidity || ""),
      cell(f.late ? "late" : ""));
    return tr;
  }));
  $("#detail-events tbody").replaceChildren(...(o.events || []).map((e) => {
    const tr = document.createElement("tr");
    tr.append(cell(e.seq, "num"), cell(when(e.ts), "time"), cell(e.topic, "mono"),
      cell(e.from || ""), cell(e.to || ""));
    return tr;
  }));
  $("#detail").scrollIntoView({ block: "nearest" });
}

// ------------------------------------------------------------ parent orders

function childList(children) {
  const td = document.createElement("td");
  td.className = "children";
  for (const c of children) {
    const line = document.createElement("div");
    line.dataset.slice = c.slice;
    line.append(`slice ${c.slice}: `, orderLink(c.order_id, c.order_id),
      ` ${c.qty} ${c.status} filled ${c.filled}`);
    td.append(line);
  }
  return td;
}

async function loadParents() {
  const data = await api("/v1/algos?limit=50");
  $("#parents tbody").replaceChildren(...data.parents.map((p) => {
    const tr = document.createElement("tr");
    tr.dataset.parentId = p.parent_id;
    const action = document.createElement("td");
    if (["WORKING", "PENDING_CANCEL"].includes(p.status)) {
      const b = document.createElement("button");
      b.textContent = "cancel";
      b.className = "small";
      b.addEventListener("click", () => cancelParent(p.parent_id));
      action.append(b);
    }
    tr.append(cell(when(p.created_at), "time"), cell(p.parent_id, "mono"),
      cell(p.algo ? p.algo.kind : ""), cell(p.symbol), cell(p.side), cell(p.qty, "num"),
      cell(p.status, "status"), cell(p.filled, "num"), cell(p.working, "num"),
      cell(p.left, "num"), cell(p.deviation || "", "num"),
      cell(p.tca.vs_arrival_bps || "", "num"), cell(p.tca.vs_vwap_bps || "", "num"),
      childList(p.children), action);
    return tr;
  }));
}

async function cancelParent(id) {
  try {
    await api(`/v1/algos/${encodeURIComponent(id)}/cancel`, { method: "POST", body: "{}" });
    await loadParents();
  } catch (e) { toast(e.message); }
}

// ------------------------------------------------------------ positions and P&L

async function loadBook() {
  const [positions, pnl] = await Promise.all([api("/v1/positions"), api("/v1/pnl")]);
  lastPositions = positions;
  let gross = Dec.zero(), net = Dec.zero();
  const body = $("#positions tbody");
  body.replaceChildren(...positions.map((p) => {
    const value = p.market_value || "0";
    gross = Dec.add(gross, Dec.abs(Dec.parse(value)));
    net = Dec.add(net, Dec.parse(value));
    const tr = document.createElement("tr");
    tr.dataset.symbol = p.symbol;
    const unrealized = cell(money(p.unrealized_pnl), "num pnl unrealized");
    unrealized.dataset.sign = sign(p.unrealized_pnl);
    tr.append(cell(p.symbol), cell(p.qty, "num"), cell(price(p.avg_price), "num avg"),
      cell(p.mark || "", "num mark"), cell(money(value), "num"),
      cell(money(p.realized_pnl), "num pnl"), unrealized, cell(cost(p.commission), "num cost"));
    return tr;
  }));
  const day = today();
  const daily = (pnl.daily || {})[day];
  $("#pnl-day").textContent = day;
  for (const [value, id] of [[daily || "0", "#pnl-daily"], [pnl.realized_pnl, "#pnl-realized"],
    [pnl.unrealized_pnl, "#pnl-unrealized"], [pnl.total_pnl, "#pnl-total"]]) {
    const el = $(id);
    el.textContent = money(value || "0");
    el.dataset.sign = sign(value);
  }
  $("#pnl-commission").textContent = cost(pnl.commission || "0");
  $("#exposure-gross").textContent = money(Dec.text(gross));
  $("#exposure-net").textContent = money(Dec.text(net));
  await loadByStrategy(positions);
}

// P&L by strategy, from every order (all pages): each fill at its average price, the
// strategy's open quantity at the mark, commission taken off. Exact, then booked.
async function loadByStrategy(positions) {
  const marks = new Map(positions.filter((p) => p.mark).map((p) => [p.symbol, Dec.parse(p.mark)]));
  const book = new Map(); // strategy -> {orders, fees, cash, qty: Map(symbol -> qty)}
  let at = 0;
  for (let guard = 0; guard < 100 && at != null; guard++) {
    const page = await api(`/v1/orders?limit=1000&offset=${at}`);
    for (const o of page.orders) {
      const s = o.strategy_id || "default";
      if (!book.has(s)) book.set(s, { orders: 0, fees: Dec.zero(), cash: Dec.zero(), qty: new Map() });
      const b = book.get(s);
      b.orders += 1;
      b.fees = Dec.add(b.fees, Dec.parse(o.fees));
      const filled = Dec.parse(o.filled_qty);
      if (filled.n === 0n) continue;
      const signed = o.side === "SELL" ? Dec.neg(filled) : filled;
      b.cash = Dec.sub(b.cash, Dec.mul(signed, Dec.parse(o.avg_fill_price)));
      b.qty.set(o.symbol, Dec.add(b.qty.get(o.symbol) || Dec.zero(), signed));
    }
    at = page.next_offset;
  }
  const rows = [...book.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([s, b]) => {
    let pnl = Dec.sub(b.cash, b.fees);
    for (const [symbol, qty] of b.qty) {
      if (qty.n !== 0n && marks.has(symbol)) pnl = Dec.add(pnl, Dec.mul(qty, marks.get(symbol)));
    }
    const tr = document.createElement("tr");
    tr.dataset.strategy = s;
    const total = cell(money(Dec.text(pnl)), "num pnl");
    total.dataset.sign = pnl.n < 0n ? "neg" : "pos";
    tr.append(cell(s), cell(b.orders, "num"), cell(cost(Dec.text(b.fees)), "num cost"), total);
    return tr;
  });
  $("#by-strategy tbody").replaceChildren(...rows);
}

function refreshBookSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => loadBook().catch((e) => toast(e.message)), 100);
}

// ------------------------------------------------------- status, circuit, switches

function setCircuit(state) {
  const el = $("#circuit");
  el.dataset.state = state;
  el.textContent = "circuit " + state.replace("_", "-");
}

async function loadStatus() {
  const s = await api("/v1/status");
  $("#mode").textContent = s.mode + (s.dry_run ? " (dry run)" : "");
  $("#adapter").textContent = "adapter " + s.adapter;
  setCircuit(s.circuit.state || "closed");
  $("#ks-unavailable").hidden = s.kill_switches_available;
  $("#ks-form").hidden = !s.kill_switches_available;
  $("#switches").hidden = !s.kill_switches_available;
  if (s.kill_switches_available) await loadSwitches();
  await loadTrading();
}

async function loadSwitches() {
  const switches = await api("/v1/kill-switches");
  $("#switches tbody").replaceChildren(...switches.map((s) => {
    const tr = document.createElement("tr");
    tr.dataset.state = s.state;
    tr.append(cell(s.kind), cell(s.target), cell(s.state, "ks-state"), cell(s.reason), cell(s.actor));
    return tr;
  }));
}

async function setSwitch(state) {
  const body = {
    kind: $("#ks-kind").value,
    target: $("#ks-target").value.trim() || "*",
    state,
    reason: $("#ks-reason").value.trim() || (state === "OFF" ? "cleared from dashboard" : "set from dashboard"),
    actor: "dashboard",
  };
  try {
    await api("/v1/kill-switches", { method: "PUT", body: JSON.stringify(body) });
    await loadSwitches();
  } catch (e) { toast(e.message); }
}

// ------------------------------------------------------------ the trading state

// The route is found in the service's OpenAPI document: the one path with "trading" in it
// that answers GET and PUT. Its answer may give each control as {value, actor, reason, at}
// or as a bare name.
async function findTradingRoute() {
  if (tradingRoute !== null) return tradingRoute;
  try {
    const doc = await api("/openapi.json");
    const hit = Object.entries(doc.paths || {}).find(
      ([path, ops]) => path.includes("trading") && !path.includes("{") && ops.get && ops.put);
    tradingRoute = hit ? hit[0] : "";
  } catch (e) { tradingRoute = ""; }
  return tradingRoute;
}

function controlOf(data, name) {
  const c = data[name];
  if (c == null) return { value: "" };
  return typeof c === "object" ? c : { value: String(c) };
}

function showTrading(data) {
  const state = controlOf(data, "state"), posture = controlOf(data, "posture");
  $("#trading-state").textContent = state.value || "–";
  $("#trading-state").dataset.state = state.value || "";
  $("#trading-posture").textContent = posture.value || "–";
  $("#trading-posture").dataset.state = posture.value || "";
  const latest = [state, posture].filter((c) => c.at).sort((a, b) => String(b.at).localeCompare(String(a.at)))[0];
  $("#trading-why").textContent = latest ? `${latest.value} by ${latest.actor || "?"} at ${when(latest.at)}: ${latest.reason || ""}` : "–";
  const shown = posture.value === "EMERGENCY" ? "EMERGENCY" : (state.value || "?");
  const pill = $("#trading-pill");
  pill.textContent = "trading " + shown;
  pill.dataset.state = shown === "NORMAL" ? "closed" : (shown === "REDUCING" ? "half_open" : "open");
}

async function loadTrading() {
  const route = await findTradingRoute();
  $("#trading-unavailable").hidden = Boolean(route);
  $("#trading-form").hidden = !route;
  $("#trading-now").hidden = !route;
  if (route) showTrading(await api(route));
}

async function setTrading(body) {
  const route = await findTradingRoute();
  if (!route) return;
  body.actor = "dashboard";
  body.reason = $("#trading-reason").value.trim() || "set from dashboard";
  try {
    showTrading(await api(route, { method: "PUT", body: JSON.stringify(body) }));
  } catch (e) { toast(e.message); }
}

// ------------------------------------------------------------------- the stream

function handle(topic, data) {
  $("#last-event").textContent = `last event ${topic} at ${when(new Date().toISOString())}`;
  if (topic.endsWith("market.mark")) { refreshBookSoon(); return; }
  if (topic.includes("circuit_")) { setCircuit(data.state || topic.split("circuit_")[1]); return; }
  if (topic.endsWith("kill_switch")) { loadSwitches().catch(() => {}); return; }
  if (topic.includes("trading")) { loadTrading().catch(() => {}); return; }
  if (!data.order_id || !data.status) return;
  if (topic.includes(".orders.") && !topic.endsWith("submit_attempt")) mergeOrder(data, true);
  if (topic.endsWith("executions.report") || data.status === "FILLED") refreshBookSoon();
  const open = $("#detail");
  if (!open.hidden && open.dataset.orderId === data.order_id) openOrder(data.order_id);
}

function setStream(state) {
  const el = $("#stream");
  el.dataset.state = state;
  el.textContent = "stream " + state;
}

async function stream() {
  let delay = 500;
  for (;;) {
    try {
      const res = await fetch("/v1/events", { headers: headers(false) });
      if (!res.ok || !res.body) throw new Error("HTTP " + res.status);
      await Promise.all([loadOrders(), loadBook()]); // catch up on what happened meanwhile
      setStream("live");
      delay = 500;
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const frame = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          let topic = "message", data = "";
          for (const line of frame.split("\n")) {
            if (line.startsWith("event: ")) topic = line.slice(7);
            else if (line.startsWith("data: ")) data += line.slice(6);
          }
          if (data) {
            try { handle(topic, JSON.parse(data)); } catch (e) { console.error(e); }
          }
        }
      }
    } catch (e) {
      console.warn("event stream:", e.message);
    }
    setStream("reconnecting");
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 5000);
  }
}

// ----------------------------------------------------------------------- start

function reload() { loadOrders().catch((e) => toast(e.message)); }

$("#filters").addEventListener("submit", (ev) => {
  ev.preventDefault();
  filters = {
    status: $("#f-status").value,
    symbol: $("#f-symbol").value.trim().toUpperCase(),
    strategy: $("#f-strategy").value.trim(),
  };
  offset = 0;
  reload();
});
$("#f-clear").addEventListener("click", () => {
  $("#f-status").value = ""; $("#f-symbol").value = ""; $("#f-strategy").value = "";
  filters = { status: "", symbol: "", strategy: "" };
  offset = 0;
  reload();
});
$("#page-older").addEventListener("click", () => {
  if (nextOffset == null) return;
  offset = nextOffset;
  reload();
});
$("#page-newer").addEventListener("click", () => {
  offset = Math.max(0, offset - PAGE);
  reload();
});
$("#detail-close").addEventListener("click", () => { $("#detail").hidden = true; });

$("#token-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  token = $("#token").value.trim();
  sessionStorage.setItem("ordergate.token", token);
  $("#token").value = "";
  $("#token").placeholder = token ? "token set" : "API token";
  loadStatus().catch((e) => toast(e.message));
});

$("#ks-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  setSwitch(ev.submitter && ev.submitter.value === "OFF" ? "OFF" : "ACTIVE");
});

$("#trading-form").addEventListener("click", (ev) => {
  const b = ev.target.closest("button");
  if (!b) return;
  if (b.dataset.state) setTrading({ state: b.dataset.state });
  else if (b.dataset.posture) setTrading({ posture: b.dataset.posture });
});

if (token) $("#token").placeholder = "token set";
loadStatus().catch((e) => toast(e.message));
loadParents().catch((e) => toast(e.message));
setInterval(() => { loadParents().catch(() => {}); }, 2000);
stream();
