// The namespaces the key may read, and their sessions, with a filter and a message search.

import { api, enc, fail, fmt, h, keyForm, page, when } from "./common.js";

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

export { renderSessions };
