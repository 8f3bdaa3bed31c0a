// Try a context: the assembled context, its token bar against the budget, each hit's score parts.
// Scores and token counts are the server's (POST .../context/explain); nothing is recomputed here.

import { ApiError, api, enc, errorBox, fail, fmt, h, keyForm, page, pct, showError } from "./common.js";
import { contentNodes } from "./timeline.js";

const SEGMENTS = ["system", "state", "window", "retrieved", "summaries"];
const SCORE_ORDER = ["dense", "lexical", "relevance", "recency"];

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
  // as of a point in the history: a seq of the session (digits) or a time (ISO 8601)
  const asOf = h("input", { id: "ctx-as-of", type: "text", placeholder: session ? "optional: a seq (e.g. 12) or a time" : "optional: a time, e.g. 2023-05-20T18:00:00Z" });
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
      h("label", { title: "Build the context from what existed then: a seq of the session (the last message the asker had seen) or a time" }, "As of (optional)", asOf),
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
    const point = asOf.value.trim();
    if (point) body.as_of = /^\d+$/.test(point) ? Number(point) : point;
    const path = session
      ? `/v1/namespaces/${enc(ns)}/sessions/${enc(session)}/context/explain`
      : `/v1/namespaces/${enc(ns)}/context/explain`;
    try {
      const res = await api("POST", path, body);
      if (!live() || mine !== latest) return;
      errorBox.hidden = true;
      const asked = JSON.stringify([body.query, body.now, body.as_of]); // compare runs of one question only
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
  const droppedKeys = before ? [...before].filter((k) => !now.has(k)) : [];
  const dropped = droppedKeys.length;
  const added = before ? [...now].filter((k) => !before.has(k)).length : 0;
  const summary = h(
    "p",
    { class: "ctx-total" },
    h("b", { id: "ctx-tokens", text: `${ctx.tokens}` }),
    ` of ${ctx.budget} tokens (${pct(ctx.tokens / ctx.budget)}) · ${ctx.messages.length} messages · ${ctx.hits.length} hits`,
    off.length ? ` · off: ${off.join(", ")}` : "",
    before ? ` · since the last run: +${added} / −${dropped} messages` : "",
    dropped ? h("span", { class: "muted", id: "ctx-dropped", text: ` (out: ${droppedKeys.slice(0, 8).join(", ")}${dropped > 8 ? ", …" : ""})` }) : null,
    ctx.unindexed
      ? h("span", {
          class: "badge pending",
          id: "ctx-unindexed",
          title: "chunks in the retrieval's scope without a vector yet when this context was built: found by full text only",
          text: `${ctx.unindexed} chunk${ctx.unindexed === 1 ? "" : "s"} not indexed yet`,
        })
      : null,
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

export { renderContext };
