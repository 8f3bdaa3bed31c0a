// Eval results: recall against tokens per strategy and category, and the missed questions,
// from a results.json of `turnmem eval` (opened in the browser, or listed by the server's --eval-dir).

import { api, enc, errorBox, fail, fmt, h, keyForm, page, showError, svg } from "./common.js";

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

export { renderEval };
