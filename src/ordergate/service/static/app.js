// ordergate dashboard: plain JS, no build step. State comes from the API; changes come
// from /v1/events (server-sent events read with fetch, so the token goes in a header
// and never in a URL).
"use strict";

const $ = (sel) => document.querySelector(sel);
const TERMINAL = new Set(["FILLED", "CANCELED", "REJECTED", "EXPIRED", "FAILED"]);
const orders = new Map(); // order_id -> order fields
let token = sessionStorage.getItem("ordergate.token") || "";
let refreshTimer = null;

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
    throw new Error(err.code + ": " + err.message);
  }
  return body;
}

function cell(text, cls) {
  const td = document.createElement("td");
  td.textContent = text == null ? "" : String(text);
  if (cls) td.className = cls;
  return td;
}

function shortTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return isNaN(d) ? iso : d.toISOString().slice(11, 23);
}

// ------------------------------------------------------------------ the blotter

function mergeOrder(update) {
  const id = update.order_id;
  const known = orders.get(id);
  if (known) {
    const kv = known.version, uv = update.version;
    if (kv != null && uv != null && uv < kv) return; // an older snapshot arrived late
    if (TERMINAL.has(known.status) && !TERMINAL.has(update.status) && uv == null) return;
  }
  const merged = { ...(known || {}), ...update };
  if (!merged.created_at) merged.created_at = update.ts || new Date().toISOString();
  orders.set(id, merged);
  renderOrder(merged, !known);
}

function renderOrder(o, isNew) {
  const body = $("#blotter tbody");
  let row = body.querySelector(`tr[data-order-id="${CSS.escape(o.order_id)}"]`);
  if (!row) {
    row = document.createElement("tr");
    row.dataset.orderId = o.order_id;
    isNew = true;
  }
  const price = o.limit_price || o.stop_price || "";
  const cells = [
    cell(shortTime(o.created_at), "time"),
    cell(o.order_id.slice(-10), "mono"),
    cell(o.symbol),
    cell(o.side, "side-" + (o.side || "").toLowerCase()),
    cell(o.qty, "num"),
    cell(o.order_type),
    cell(price, "num"),
    cell(o.status, "status"),
    cell(o.filled_qty, "num"),
    cell(o.avg_fill_price || "", "num"),
    cell(o.error_code || "", "code"),
  ];
  cells[1].title = o.order_id;
  cells[7].dataset.status = o.status;
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
    body.prepend(row);
    row.classList.add("flash");
  } else {
    row.classList.remove("flash");
    void row.offsetWidth; // restart the highlight
    row.classList.add("flash");
  }
  $("#order-count").textContent = `(${orders.size})`;
}

async function loadOrders() {
  const page = await api("/v1/orders?limit=200");
  const rows = page.orders.slice().reverse(); // oldest first, so prepend leaves newest on top
  for (const o of rows) mergeOrder(o);
}

async function cancelOrder(id) {
  try {
    mergeOrder(await api(`/v1/orders/${encodeURIComponent(id)}/cancel`, { method: "POST", body: "{}" }));
  } catch (e) { toast(e.message); }
}

// ------------------------------------------------------------ positions and P&L

async function loadBook() {
  const [positions, pnl] = await Promise.all([api("/v1/positions"), api("/v1/pnl")]);
  const body = $("#positions tbody");
  body.replaceChildren(...positions.map((p) => {
    const tr = document.createElement("tr");
    tr.dataset.symbol = p.symbol;
    tr.append(cell(p.symbol), cell(p.qty, "num"), cell(p.avg_price, "num"), cell(p.mark || "", "num"),
      cell(p.realized_pnl, "num pnl"), cell(p.unrealized_pnl, "num pnl"));
    return tr;
  }));
  for (const [key, id] of [["realized_pnl", "#pnl-realized"], ["unrealized_pnl", "#pnl-unrealized"],
    ["commission", "#pnl-commission"], ["total_pnl", "#pnl-total"]]) {
    const el = $(id);
    el.textContent = pnl[key] || "0";
    el.dataset.sign = String(pnl[key] || "0").startsWith("-") ? "neg" : "pos";
  }
}

function refreshBookSoon() {
  clearTimeout(refreshTimer);
  refreshTimer = setTimeout(() => loadBook().catch((e) => toast(e.message)), 150);
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

// ------------------------------------------------------------------- the stream

function handle(topic, data) {
  $("#last-event").textContent = `last event ${topic} at ${shortTime(new Date().toISOString())}`;
  if (topic.includes("circuit_")) { setCircuit(data.state || topic.split("circuit_")[1]); return; }
  if (topic.endsWith("kill_switch")) { loadSwitches().catch(() => {}); return; }
  if (!data.order_id || !data.status) return;
  if (topic.includes(".orders.") && !topic.endsWith("submit_attempt")) mergeOrder(data);
  if (topic.endsWith("executions.report") || data.status === "FILLED") refreshBookSoon();
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
      setStream("live");
      delay = 500;
      await Promise.all([loadOrders(), loadBook()]); // catch up on what happened meanwhile
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

if (token) $("#token").placeholder = "token set";
loadStatus().catch((e) => toast(e.message));
stream();
