// turnmem inspector: plain JavaScript over the server's public REST API (no build step, no CDN).
// Everything shown comes from /v1 routes with the tab's key; stored text is always set as text.
"use strict";

const KEY = "turnmem.key";
const BASE = location.pathname.split("/ui")[0];
const SEGMENTS = ["system", "state", "window", "retrieved", "summaries"];
const SCORE_ORDER = ["dense", "lexical", "relevance", "recency"];
const main = document.getElementById("main");
const errorBox = document.getElementById("error");
const keyForm = document.getElementById("key-form");
let renderId = 0;

// -- small helpers ---------------------------------------------------------------------------

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") el.className = v;
    else if (k === "text") el.textContent = v;
    else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function svg(tag, attrs, ...children) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  for (const c of children.flat(Infinity)) if (c) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

const enc = encodeURIComponent;
const fmt = (x, d = 3) => (x === null || x === undefined || Number.isNaN(x) ? "–" : Number(x).toFixed(d));
const plural = (n, one, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;
const pct = (x) => `${Math.round(x * 1000) / 10}%`;

function when(value) {
  if (value === null || value === undefined) return "";
  const d = new Date(typeof value === "number" ? value * 1000 : value);
  return Number.isNaN(d.getTime()) ? String(value) : d.toISOString().slice(0, 16).replace("T", " ") + " UTC";
}

function pretty(text) {
  if (typeof text !== "string") return JSON.stringify(text, null, 2);
  try {
    const value = JSON.parse(text);
    return typeof value === "object" && value !== null ? JSON.stringify(value, null, 2) : text;
  } catch {
    return text;
  }
}

class ApiError extends Error {
  constructor(status, detail) {
    super(detail);
    this.status = status;
  }
}

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  const key = sessionStorage.getItem(KEY);
  if (key) headers.Authorization = `Bearer ${key}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(BASE + path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, (data && data.detail) || text || response.statusText);
  return data;
}

function showError(message) {
  errorBox.textContent = message;
  errorBox.hidden = false;
}

function fail(err) {
  main.replaceChildren();
  if (err instanceof ApiError && err.status === 401) {
    keyForm.hidden = false;
    const had = sessionStorage.getItem(KEY);
    showError(had ? `This key was refused: ${err.message}` : "This server needs an API key.");
    document.getElementById("key-input").focus();
    return;
  }
  showError(err instanceof ApiError ? `${err.status}: ${err.message}` : String(err));
}

function page(title, ...children) {
  main.replaceChildren(h("h1", { text: title }), ...children);
}

// -- routing ---------------------------------------------------------------------------------

function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  errorBox.hidden = true;
  const id = ++renderId;
  const live = () => id === renderId;
  let view;
  let nav = "sessions";
  if (parts[0] === "eval") {
    nav = "eval";
    view = () => renderEval(live);
  } else if (parts[0] === "context") {
    nav = "context";
    view = () => renderContext(live, null, null);
  } else if (parts[0] === "ns" && parts[2] === "s" && parts[4] === "context") {
    nav = "context";
    view = () => renderContext(live, parts[1], parts[3]);
  } else if (parts[0] === "ns" && parts[2] === "context") {
    nav = "context";
    view = () => renderContext(live, parts[1], null);
  } else if (parts[0] === "ns" && parts[2] === "s" && parts[3] !== undefined) {
    view = () => renderTimeline(live, parts[1], parts[3]);
  } else {
    view = () => renderSessions(live, parts[0] === "ns" ? parts[1] : null);
  }
  for (const a of document.querySelectorAll("[data-nav]")) {
    if (a.dataset.nav === nav) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  document.getElementById("forget-key").hidden = !sessionStorage.getItem(KEY);
  main.replaceChildren(h("p", { class: "muted", text: "Loading…" }));
  view().catch((err) => live() && fail(err));
}

keyForm.addEventListener("submit", (event) => {
  event.preventDefault();
  sessionStorage.setItem(KEY, document.getElementById("key-input").value.trim());
  document.getElementById("key-input").value = "";
  keyForm.hidden = true;
  route();
});

document.getElementById("forget-key").addEventListener("click", () => {
  sessionStorage.removeItem(KEY);
  route();
});

window.addEventListener("hashchange", route);

// -- namespaces and sessions -----------------------------------------------------------------

async function renderSessions(live, ns) {
  const names = await api("GET", "/v1/namespaces");
  if (!live()) return;
  keyForm.hidden = true;
  ns = ns || names[0] || null;
  const list = h(
    "ul",
    { class: "ns-list" },
    names.map((n) =>
      h("li", {}, h("a", { href: `#/ns/${enc(n)}`, "aria-current": n === ns ? "page" : null, text: n })),
    ),
  );
  const aside = h("nav", { class: "card", "aria-label": "Namespaces" }, h("h2", { text: "Namespaces" }), list);
  if (!names.length) list.append(h("li", { class: "muted", text: "No namespace this key may read." }));
  const body = h("section", { class: "card", "aria-label": "Sessions" });
  page("Sessions", h("div", { class: "split" }, aside, body));
  if (!ns) return;
  const sessions = await api("GET", `/v1/namespaces/${enc(ns)}/session-activity`);
  if (!live()) return;
  const rows = sessions.map((s) =>
    h(
      "tr",
      { "data-session": s.session },
      h("th", { scope: "row" }, h("a", { href: `#/ns/${enc(ns)}/s/${enc(s.session)}`, text: s.session })),
      h("td", { class: "num", text: s.messages }),
      h("td", { class: "num", text: s.last_seq }),
      h("td", { class: "num", text: s.summaries }),
      h("td", { text: when(s.last_activity) }),
      h("td", {}, h("a", { href: `#/ns/${enc(ns)}/s/${enc(s.session)}/context`, text: "context" })),
    ),
  );
  const filter = h("input", {
    id: "session-filter",
    type: "search",
    placeholder: "Filter sessions; Enter searches the messages",
    "aria-label": "Filter sessions or search messages",
  });
  const found = h("div", { class: "hits-found", "aria-live": "polite" });
  filter.addEventListener("input", () => {
    const q = filter.value.toLowerCase();
    for (const tr of rows) tr.hidden = q !== "" && !tr.dataset.session.toLowerCase().includes(q);
  });
  const form = h("form", { class: "row", role: "search" }, filter, h("button", { type: "submit", text: "Search" }));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!filter.value.trim()) return;
    try {
      const res = await api("POST", `/v1/namespaces/${enc(ns)}/search`, { query: filter.value, k: 10 });
      found.replaceChildren(
        h("h3", { text: `Messages matching “${filter.value}”` }),
        h(
          "ol",
          { class: "search-hits" },
          res.hits.map((hit) =>
            h(
              "li",
              {},
              h("a", { href: `#/ns/${enc(ns)}/s/${enc(hit.session)}`, text: `${hit.session} #${hit.seq}` }),
              ` ${hit.role} · ${fmt(hit.scores.final)} · `,
              h("span", { text: hit.text.slice(0, 160) }),
            ),
          ),
        ),
      );
    } catch (err) {
      fail(err);
    }
  });
  const head = ["Session", "Messages", "Last seq", "Summaries", "Last activity", ""];
  body.replaceChildren(
    h("h2", { text: ns }),
    h("p", { class: "muted" }, `${sessions.length} sessions · `, h("a", { href: `#/ns/${enc(ns)}/context`, text: "context over the whole namespace" })),
    form,
    found,
    h(
      "div",
      { class: "scroll" },
      h("table", { class: "sessions" }, h("thead", {}, h("tr", {}, head.map((t) => h("th", { scope: "col", text: t })))), h("tbody", {}, rows)),
    ),
  );
}

// -- a session's timeline --------------------------------------------------------------------

async function allMessages(ns, session) {
  let since = 0;
  const out = [];
  for (;;) {
    const page = await api("GET", `/v1/namespaces/${enc(ns)}/sessions/${enc(session)}/messages?since=${since}&limit=1000`);
    out.push(...page.messages);
    if (!page.has_more || !page.messages.length) return out;
    since = page.messages[page.messages.length - 1].seq;
  }
}

function contentNodes(content) {
  if (content === null || content === undefined) return [];
  if (typeof content === "string") return [h("div", { class: "text", text: content })];
  return content.map((part) => {
    if (part.type === "text") return h("div", { class: "text", text: part.text });
    if (part.type === "image_url") {
      const img = h("img", { src: part.image_url.url, alt: part.caption || "image", loading: "lazy" });
      return h("figure", { class: "thumb" }, img, h("figcaption", { text: part.caption || "(no caption)" }));
    }
    if (part.type === "file") {
      const name = part.file.filename || part.file.file_id || "file";
      return h(
        "details",
        { class: "file" },
        h("summary", {}, "📎 ", h("span", { text: name }), part.mime_type ? h("span", { class: "muted", text: ` ${part.mime_type}` }) : null),
        h("pre", { text: part.text || "(no text surrogate)" }),
      );
    }
    return h("pre", { text: JSON.stringify(part, null, 2) });
  });
}

function toolCallNode(call, state, result) {
  const status = state ? state.status : "pending";
  const retried = state && state.retried_by ? ` → retried by ${state.retried_by}` : "";
  return h(
    "details",
    { class: `tool status-${status}`, "data-call": call.id },
    h(
      "summary",
      {},
      h("span", { class: "tool-name", text: `${call.function.name}()` }),
      h("span", { class: `badge ${status}`, text: status }),
      h("span", { class: "muted", text: result ? ` result #${result.seq}${retried}` : retried }),
    ),
    h("div", { class: "label", text: "arguments" }),
    h("pre", { text: pretty(call.function.arguments) }),
    h("div", { class: "label", text: result ? `result (#${result.seq})` : "no result stored yet" }),
    result ? h("pre", { class: "result", text: pretty(typeof result.content === "string" ? result.content : JSON.stringify(result.content)) }) : null,
  );
}

async function renderTimeline(live, ns, session) {
  const base = `/v1/namespaces/${enc(ns)}/sessions/${enc(session)}`;
  const [messages, calls, summaries, state, history, machine] = await Promise.all([
    allMessages(ns, session),
    api("GET", `${base}/tool-calls`),
    api("GET", `${base}/summaries`),
    api("GET", `${base}/state`),
    api("GET", `${base}/state/history`),
    api("GET", `${base}/state-machine`),
  ]);
  if (!live()) return;
  keyForm.hidden = true;
  const bySeq = new Map(messages.map((m) => [m.seq, m]));
  const callState = new Map(calls.map((c) => [c.id, c]));
  const folded = new Set(calls.filter((c) => c.result_seq !== null).map((c) => c.result_seq));
  const covers = summaries.map((s, i) => ({ i: i + 1, msg: s, ...(s.metadata.summary_of || {}) }));
  const items = [];
  for (const m of messages) {
    for (const c of covers) if (c.from_seq === m.seq) items.push(summaryNode(c));
    if (m.role === "tool" && folded.has(m.seq)) continue; // shown inside its call
    const cover = covers.find((c) => m.seq >= c.from_seq && m.seq <= c.to_seq);
    const who = m.name || (m.metadata && m.metadata.speaker) || "";
    const li = h(
      "li",
      { class: `msg role-${m.role}${cover ? " covered" : ""}`, id: `seq-${m.seq}` },
      h(
        "div",
        { class: "meta" },
        h("span", { class: "seq", text: `#${m.seq}` }),
        h("span", { class: `role ${m.role}`, text: m.role }),
        who ? h("span", { class: "who", text: who }) : null,
        h("time", { text: when(m.timestamp) }),
        cover ? h("span", { class: "badge covered", text: `in summary ${cover.i}` }) : null,
      ),
      contentNodes(m.content),
      (m.tool_calls || []).map((call) => {
        const st = callState.get(call.id);
        return toolCallNode(call, st, st && st.result_seq !== null ? bySeq.get(st.result_seq) : null);
      }),
    );
    items.push(li);
  }
  const side = h("aside", { class: "side" }, stateCard(state, history), machineCard(machine), callsCard(calls));
  page(
    session,
    h(
      "p",
      { class: "crumbs" },
      h("a", { href: `#/ns/${enc(ns)}`, text: `← ${ns}` }),
      ` · ${plural(messages.length, "message")} · ${plural(summaries.length, "summary", "summaries")} · `,
      h("a", { href: `#/ns/${enc(ns)}/s/${enc(session)}/context`, text: "Try a context on this session" }),
    ),
    h("div", { class: "timeline-grid" }, h("ol", { class: "timeline", "aria-label": "Messages by seq" }, items), side),
  );
}

function summaryNode(c) {
  return h(
    "li",
    { class: "summary-card", "data-summary": c.i },
    h("div", { class: "meta" }, h("span", { class: "badge summary", text: `summary ${c.i}` }), h("span", { text: `covers turns ${c.from_seq}–${c.to_seq}` }), h("time", { text: when(c.msg.timestamp) })),
    h("details", {}, h("summary", { text: "Show the summary" }), h("pre", { text: typeof c.msg.content === "string" ? c.msg.content : JSON.stringify(c.msg.content) })),
  );
}

function stateCard(state, history) {
  const names = Object.keys(state);
  return h(
    "section",
    { class: "card", "aria-label": "Pinned state" },
    h("h2", { text: "Pinned state" }),
    names.length
      ? h(
          "dl",
          { class: "state" },
          names.map((name) => [
            h("dt", {}, h("span", { text: name }), h("span", { class: "badge", text: `v${state[name].version}` })),
            h(
              "dd",
              {},
              h("pre", { text: pretty(state[name].value) }),
              (history[name] || []).length > 1
                ? h(
                    "details",
                    {},
                    h("summary", { text: `${history[name].length} versions` }),
                    h("ol", { class: "versions" }, history[name].map((b) => h("li", {}, h("b", { text: `v${b.version} ` }), h("time", { text: when(b.updated_at) }), h("pre", { text: b.value === null ? "(removed)" : pretty(b.value) })))),
                  )
                : null,
            ),
          ]),
        )
      : h("p", { class: "muted", text: "No state blocks." }),
  );
}

function machineCard(view) {
  const card = h("section", { class: "card", "aria-label": "Stage machine" }, h("h2", { text: "Stage machine" }));
  if (!view.machine) {
    card.append(h("p", { class: "muted", text: "No stage machine." }));
    return card;
  }
  const stages = Object.entries(view.machine.stages);
  card.append(
    h("p", {}, "Current stage: ", h("b", { class: "current-stage", text: view.stage || "(none)" })),
    h(
      "ol",
      { class: "stages" },
      stages.map(([name, st]) =>
        h(
          "li",
          { class: name === view.stage ? "current" : "", "aria-current": name === view.stage ? "step" : null },
          h("b", { text: name }),
          name === view.machine.initial ? h("span", { class: "muted", text: " (initial)" }) : null,
          h("div", { class: "muted", text: st.next.length ? `→ ${st.next.join(", ")}` : "final" }),
          st.instructions ? h("div", { class: "instr", text: st.instructions }) : null,
        ),
      ),
    ),
  );
  return card;
}

function callsCard(calls) {
  const counts = {};
  for (const c of calls) counts[c.status] = (counts[c.status] || 0) + 1;
  return h(
    "section",
    { class: "card", "aria-label": "Tool calls" },
    h("h2", { text: "Tool calls" }),
    calls.length
      ? h("p", {}, Object.entries(counts).map(([k, v]) => h("span", { class: `badge ${k}`, text: `${v} ${k}` })))
      : h("p", { class: "muted", text: "No tool calls." }),
  );
}

// -- try a context ---------------------------------------------------------------------------

async function renderContext(live, ns, session) {
  const [names, conf] = await Promise.all([api("GET", "/v1/namespaces"), api("GET", "/v1/assemble-config")]);
  if (!live()) return;
  keyForm.hidden = true;
  ns = ns || names[0] || null;
  if (!ns) return page("Try a context", h("p", { class: "muted", text: "No namespace this key may read." }));
  const sessions = await api("GET", `/v1/namespaces/${enc(ns)}/session-activity`);
  if (!live()) return;
  const nsSelect = h("select", { id: "ctx-ns" }, names.map((n) => h("option", { value: n, selected: n === ns, text: n })));
  const sSelect = h(
    "select",
    { id: "ctx-session" },
    h("option", { value: "", text: "(whole namespace)" }),
    sessions.map((s) => h("option", { value: s.session, selected: s.session === session, text: s.session })),
  );
  const go = () => {
    location.hash = sSelect.value ? `#/ns/${enc(nsSelect.value)}/s/${enc(sSelect.value)}/context` : `#/ns/${enc(nsSelect.value)}/context`;
  };
  nsSelect.addEventListener("change", () => {
    sSelect.value = "";
    go();
  });
  sSelect.addEventListener("change", go);
  const query = h("input", { id: "ctx-query", type: "text", placeholder: "What the user just asked", value: sessionStorage.getItem("turnmem.query") || "" });
  const budget = h("input", { id: "ctx-budget", type: "range", min: "100", max: "8000", step: "50", value: sessionStorage.getItem("turnmem.budget") || "1000" });
  const budgetOut = h("output", { id: "ctx-budget-value", for: "ctx-budget", text: budget.value });
  const now = h("input", { id: "ctx-now", type: "text", placeholder: "optional, e.g. 2023-05-20T18:00:00Z" });
  const toggles = conf.pieces.map((p) => {
    const already = JSON.stringify(conf.config[p.field]) === JSON.stringify(p.off);
    const box = h("input", { type: "checkbox", id: `piece-${p.field}`, checked: !already, disabled: already, "data-field": p.field });
    return { piece: p, box, label: h("label", { class: "toggle", title: p.description }, box, ` ${p.name}`) };
  });
  const form = h(
    "form",
    { class: "card ctx-form" },
    h("div", { class: "fields" },
      h("label", {}, "Namespace", nsSelect),
      h("label", {}, "Session", sSelect),
      h("label", {}, h("span", {}, "Budget ", budgetOut, " tokens"), budget),
      h("label", {}, "Now (optional)", now),
      h("label", { class: "wide" }, "Query", query),
    ),
    h("fieldset", {}, h("legend", { text: "Retrieval pieces (uncheck to switch one off)" }), toggles.map((t) => t.label)),
    h("button", { type: "submit", id: "ctx-run", text: "Assemble" }),
  );
  const out = h("div", { id: "ctx-out", "aria-live": "polite" });
  page("Try a context", form, out);
  let previous = null;
  let latest = 0;
  let timer = null;
  const run = async () => {
    clearTimeout(timer);
    const mine = ++latest; // only the newest request draws: answers may arrive out of order
    sessionStorage.setItem("turnmem.query", query.value);
    sessionStorage.setItem("turnmem.budget", budget.value);
    const config = {};
    for (const t of toggles) if (!t.box.checked && !t.box.disabled) config[t.piece.field] = t.piece.off;
    const body = { query: query.value.trim() || null, budget: Number(budget.value), config };
    if (now.value.trim()) body.now = now.value.trim();
    const path = session
      ? `/v1/namespaces/${enc(ns)}/sessions/${enc(session)}/context/explain`
      : `/v1/namespaces/${enc(ns)}/context/explain`;
    try {
      const res = await api("POST", path, body);
      if (!live() || mine !== latest) return;
      errorBox.hidden = true;
      const asked = JSON.stringify([body.query, body.now]); // compare runs of one question only
      out.replaceChildren(...contextView(res, previous && previous.asked === asked ? previous.context : null, Object.keys(config)));
      previous = { asked, context: res.context };
    } catch (err) {
      if (!live() || mine !== latest) return;
      out.replaceChildren();
      if (err instanceof ApiError && err.status === 401) fail(err);
      else showError(`${err.status || ""}: ${err.message}`);
    }
  };
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    run();
  });
  budget.addEventListener("input", () => {
    budgetOut.textContent = budget.value;
    clearTimeout(timer);
    timer = setTimeout(run, 250);
  });
  for (const t of toggles) t.box.addEventListener("change", run);
  await run();
}

function refKey(source) {
  return source.ref ? `${source.ref.session}#${source.ref.seq}` : `pinned:${source.origin}`;
}

function contextView(res, previous, off) {
  const ctx = res.context;
  const bar = h("div", { class: "tokenbar", role: "img", id: "tokenbar", "data-budget": ctx.budget, "data-tokens": ctx.tokens });
  const legend = h("ul", { class: "legend" });
  for (const name of SEGMENTS) {
    const n = res.segments[name] || 0;
    const seg = h("span", { class: `seg seg-${name}`, "data-segment": name, "data-tokens": n, title: `${name}: ${n} tokens` });
    seg.style.width = `${(100 * n) / ctx.budget}%`;
    bar.append(seg);
    legend.append(h("li", {}, h("span", { class: `swatch seg-${name}` }), `${name} ${n}`));
  }
  legend.append(h("li", {}, h("span", { class: "swatch free" }), `free ${ctx.budget - ctx.tokens}`));
  bar.setAttribute("aria-label", SEGMENTS.map((s) => `${s} ${res.segments[s] || 0}`).join(", ") + ` of ${ctx.budget} tokens`);
  const before = previous ? new Set(previous.sources.map(refKey)) : null;
  const now = new Set(ctx.sources.map(refKey));
  const dropped = before ? [...before].filter((k) => !now.has(k)).length : 0;
  const added = before ? [...now].filter((k) => !before.has(k)).length : 0;
  const summary = h(
    "p",
    { class: "ctx-total" },
    h("b", { id: "ctx-tokens", text: `${ctx.tokens}` }),
    ` of ${ctx.budget} tokens (${pct(ctx.tokens / ctx.budget)}) · ${ctx.messages.length} messages · ${ctx.hits.length} hits`,
    off.length ? ` · off: ${off.join(", ")}` : "",
    before ? ` · since the last run: +${added} / −${dropped} messages` : "",
  );
  const msgs = ctx.messages.map((m, i) => {
    const src = ctx.sources[i] || { origin: "pinned", ref: null };
    const isNew = before && !before.has(refKey(src));
    const where = src.ref ? `${src.ref.session} #${src.ref.seq}` : "pinned";
    return h(
      "li",
      { class: `cmsg origin-${src.origin}${isNew ? " new" : ""}` },
      h(
        "div",
        { class: "meta" },
        h("span", { class: `role ${m.role}`, text: m.role }),
        h("span", { class: `badge origin ${src.origin}`, text: src.origin + (src.partial ? " (part)" : "") }),
        h("span", { class: "muted", text: where }),
        h("span", { class: "tokens", text: `${res.message_tokens[i]} tok` }),
        isNew ? h("span", { class: "badge new", text: "new" }) : null,
      ),
      m.content === null ? null : contentNodes(m.content),
      (m.tool_calls || []).map((c) => h("pre", { class: "call", text: `${c.function.name}(${c.function.arguments})` })),
    );
  });
  const scale = {};
  for (const hit of ctx.hits) for (const [k, v] of Object.entries(hit.scores)) scale[k] = Math.max(scale[k] || 1, Math.abs(v));
  const hits = ctx.hits.map((hit) => hitNode(hit, scale));
  return [
    h("section", { class: "card" }, h("h2", { text: "Tokens against the budget" }), bar, legend, summary),
    h(
      "div",
      { class: "ctx-grid" },
      h("section", { class: "card" }, h("h2", { text: "Context as the model receives it" }), h("ol", { class: "context", id: "ctx-messages" }, msgs)),
      h("section", { class: "card" }, h("h2", { text: "Hits and their scores" }), hits.length ? h("ol", { class: "hits", id: "ctx-hits" }, hits) : h("p", { class: "muted", text: "No retrieval hits (no query, or the window held everything)." })),
    ),
  ];
}

function hitNode(hit, scale) {
  const keys = Object.keys(hit.scores);
  const ordered = [
    ...SCORE_ORDER.filter((k) => k in hit.scores),
    ...keys.filter((k) => !SCORE_ORDER.includes(k) && k !== "final"),
    ...("final" in hit.scores ? ["final"] : []),
  ];
  const rows = ordered.map((k) => {
    const v = hit.scores[k];
    const fill = h("span", { class: "fill" });
    fill.style.width = `${Math.max(0, (100 * v) / scale[k])}%`;
    const group = SCORE_ORDER.includes(k) || k === "final" ? k : `prior: ${k}`;
    return h(
      "div",
      { class: `score score-${k}`, "data-key": k, "data-value": String(v) },
      h("span", { class: "skey", text: group }),
      h("span", { class: "track", role: "img", "aria-label": `${k} ${fmt(v)}` }, fill),
      h("span", { class: "sval", text: fmt(v) }),
    );
  });
  return h(
    "li",
    { class: "hit", "data-chunk": hit.chunk_id, "data-rank": hit.rank },
    h(
      "div",
      { class: "meta" },
      h("b", { text: `#${hit.rank}` }),
      h("span", { class: "muted", text: `${hit.session} #${hit.seq}${hit.parts > 1 ? ` part ${hit.part + 1}/${hit.parts}` : ""}` }),
      h("span", { class: `role ${hit.role}`, text: hit.role }),
      h("span", { class: "badge reason", text: hit.reason }),
      h("span", { class: "tokens", text: `${hit.tokens} tok` }),
    ),
    h("div", { class: "text clip", text: hit.text }),
    h("div", { class: "scores" }, rows),
  );
}

// -- eval results ----------------------------------------------------------------------------

// results.json is written by Python's json.dumps, which spells missing numbers NaN: read them as null.
function parseLenient(text) {
  const out = [];
  let start = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === "N" && text.startsWith("NaN", i)) {
      out.push(text.slice(start, i), "null");
      start = i + 3;
      i += 2;
    } else if ((c === "I" || c === "-") && text.startsWith(c === "-" ? "-Infinity" : "Infinity", i)) {
      const n = c === "-" ? 9 : 8;
      out.push(text.slice(start, i), "null");
      start = i + n;
      i += n - 1;
    }
  }
  out.push(text.slice(start));
  return JSON.parse(out.join(""));
}

async function renderEval(live) {
  const listing = await api("GET", "/v1/eval-results");
  if (!live()) return;
  keyForm.hidden = true;
  const file = h("input", { type: "file", id: "eval-file", accept: ".json,application/json" });
  const out = h("div", { id: "eval-out" });
  const pick = h("select", { id: "eval-run", "aria-label": "Results folder" }, h("option", { value: "", text: "choose a run…" }), listing.runs.map((r) => h("option", { value: r, text: r })));
  const sources = h(
    "section",
    { class: "card row-wrap" },
    listing.enabled
      ? h("label", {}, `Results under the server's --eval-dir (${listing.runs.length}) `, pick)
      : h("p", { class: "muted", text: "Start the server with --eval-dir to list results folders here; or open a file:" }),
    h("label", {}, "Open results.json ", file),
  );
  page("Eval results", sources, out);
  const show = (data, name) => {
    errorBox.hidden = true;
    out.replaceChildren(...evalView(data, name));
  };
  pick.addEventListener("change", async () => {
    if (!pick.value) return;
    try {
      show(await api("GET", `/v1/eval-results/${pick.value.split("/").map(enc).join("/")}`), pick.value);
    } catch (err) {
      fail(err);
    }
  });
  file.addEventListener("change", async () => {
    if (!file.files.length) return;
    try {
      show(parseLenient(await file.files[0].text()), file.files[0].name);
    } catch (err) {
      showError(`${file.files[0].name}: not a results.json of turnmem eval (${err.message})`);
    }
  });
}

const COLORS = ["#2563eb", "#dc2626", "#059669", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#4b5563"];

function evalView(data, name) {
  if (!data || !Array.isArray(data.summary) || !Array.isArray(data.records)) throw new Error("no summary or records");
  const cfg = data.config || {};
  const cats = [...new Set((data.by_category || []).map((r) => String(r.category)))].sort();
  const catSelect = h("select", { id: "eval-category", "aria-label": "Category" }, h("option", { value: "", text: "all categories" }), cats.map((c) => h("option", { value: c, text: `category ${c}` })));
  const chart = h("div", { class: "chart", id: "eval-chart" });
  const draw = () => {
    const rows = catSelect.value ? data.by_category.filter((r) => String(r.category) === catSelect.value) : data.summary;
    chart.replaceChildren(recallChart(rows));
  };
  catSelect.addEventListener("change", draw);
  draw();
  const strategies = [...new Set(data.records.map((r) => r.strategy))];
  const budgets = [...new Set(data.records.map((r) => r.budget))].sort((a, b) => a - b);
  const sSel = h("select", { id: "missed-strategy", "aria-label": "Strategy" }, strategies.map((s) => h("option", { value: s, text: s, selected: s === "turnmem" })));
  const bSel = h("select", { id: "missed-budget", "aria-label": "Budget" }, budgets.map((b) => h("option", { value: String(b), text: `${b} tokens` })));
  const missed = h("div", { id: "missed" });
  const list = () => {
    const rows = data.records.filter((r) => r.strategy === sSel.value && String(r.budget) === bSel.value && r.recall !== null && r.recall < 1);
    const shown = rows.slice(0, 200);
    missed.replaceChildren(
      h("p", { class: "muted", text: `${rows.length} questions missed some evidence${rows.length > shown.length ? ` (first ${shown.length} shown)` : ""}` }),
      h(
        "div",
        { class: "scroll" },
        h(
          "table",
          { class: "missed" },
          h("thead", {}, h("tr", {}, ["Question", "Cat.", "Evidence: its rank", "Tokens"].map((t) => h("th", { scope: "col", text: t })))),
          h(
            "tbody",
            {},
            shown.map((r) =>
              h(
                "tr",
                {},
                h("td", { text: r.question }),
                h("td", { text: r.category }),
                h("td", {}, r.evidence.map((e) => h("span", { class: `ev ${r.found.includes(e) ? "found" : "lost"}`, text: `${e} ${r.ranks && r.ranks[e] != null ? `rank ${r.ranks[e]}` : "not ranked"}${r.found.includes(e) ? " ✓" : ""}` }))),
                h("td", { class: "num", text: r.tokens }),
              ),
            ),
          ),
        ),
      ),
    );
  };
  sSel.addEventListener("change", list);
  bSel.addEventListener("change", list);
  list();
  return [
    h("div", { class: "eval-grid" },
    h("section", { class: "card" }, h("h2", { text: `${cfg.dataset || name}: ${cfg.questions ?? "?"} questions` }), h("p", { class: "muted", text: `${name} · ${(cfg.strategies || []).join(", ")} · budgets ${(cfg.budgets || []).join(", ")} · ${cfg.date || ""}` }), h("label", {}, "Recall vs tokens for ", catSelect), chart),
    h("section", { class: "card" }, h("h2", { text: "Missed questions" }), h("div", { class: "row-wrap" }, h("label", {}, "Strategy ", sSel), h("label", {}, "Budget ", bSel)), missed),
    ),
  ];
}

function recallChart(rows) {
  const W = 560;
  const H = 320;
  const M = { l: 48, r: 16, t: 12, b: 40 };
  const pts = rows.filter((r) => r.tokens_mean > 0 && r.recall !== null);
  const xs = pts.map((r) => Math.log2(r.tokens_mean));
  const x0 = Math.floor(Math.min(...xs, 8));
  const x1 = Math.ceil(Math.max(...xs, 9));
  const X = (t) => M.l + ((Math.log2(t) - x0) / (x1 - x0)) * (W - M.l - M.r);
  const Y = (v) => H - M.b - v * (H - M.t - M.b);
  const g = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": "Recall against mean context tokens per strategy" });
  for (let v = 0; v <= 1.0001; v += 0.25) {
    g.append(svg("line", { x1: M.l, x2: W - M.r, y1: Y(v), y2: Y(v), class: "grid" }), svg("text", { x: M.l - 6, y: Y(v) + 4, class: "tick", "text-anchor": "end" }, v.toFixed(2)));
  }
  for (let e = x0; e <= x1; e++) {
    g.append(svg("line", { x1: X(2 ** e), x2: X(2 ** e), y1: M.t, y2: H - M.b, class: "grid" }), svg("text", { x: X(2 ** e), y: H - M.b + 16, class: "tick", "text-anchor": "middle" }, String(2 ** e)));
  }
  g.append(svg("text", { x: (W + M.l) / 2, y: H - 6, class: "axis", "text-anchor": "middle" }, "mean tokens in context (log scale)"), svg("text", { x: 12, y: H / 2, class: "axis", "text-anchor": "middle", transform: `rotate(-90 12 ${H / 2})` }, "recall"));
  const strategies = [...new Set(pts.map((r) => r.strategy))];
  const legend = h("ul", { class: "legend" });
  strategies.forEach((s, i) => {
    const color = COLORS[i % COLORS.length];
    const line = pts.filter((r) => r.strategy === s).sort((a, b) => a.tokens_mean - b.tokens_mean);
    g.append(svg("polyline", { points: line.map((r) => `${X(r.tokens_mean)},${Y(r.recall)}`).join(" "), fill: "none", stroke: color, "stroke-width": 2 }));
    for (const r of line) g.append(svg("circle", { cx: X(r.tokens_mean), cy: Y(r.recall), r: 4, fill: color, "data-strategy": s, "data-recall": r.recall }, svg("title", {}, `${s} @ ${r.budget}: recall ${fmt(r.recall)}, ${Math.round(r.tokens_mean)} tokens`)));
    const sw = h("span", { class: "swatch" });
    sw.style.background = color;
    legend.append(h("li", {}, sw, s));
  });
  return h("figure", {}, g, h("figcaption", {}, legend));
}

route();
