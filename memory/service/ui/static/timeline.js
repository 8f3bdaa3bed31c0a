// A session's timeline: messages by seq, tool calls folded with their results, images, files,
// rolling summaries, pinned state with its versions, the stage machine.

import { api, enc, h, keyForm, page, plural, pretty, when } from "./common.js";

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

// An inline image (data: or blob:, or this server's) is shown; a remote one is never fetched by
// the page (a tracking pixel would learn who opened the session, and when): the CSP allows
// images from 'self', data: and blob: only. Its placeholder names the host; a click opens the
// URL in a new tab, without a referrer, where the operator chose to load it.
function imageNode(url, caption) {
  let parsed = null;
  try {
    parsed = new URL(url, location.href);
  } catch (_) {
    parsed = null;
  }
  const inline = parsed && (parsed.protocol === "data:" || parsed.protocol === "blob:" || parsed.origin === location.origin);
  if (inline) return h("img", { src: url, alt: caption || "image", loading: "lazy" });
  const remote = parsed && (parsed.protocol === "https:" || parsed.protocol === "http:");
  const label = remote ? `remote image from ${parsed.host} — click to open it in a new tab` : "image with an unusable URL (not loaded)";
  if (!remote) return h("span", { class: "remote-image", text: label });
  return h("a", { class: "remote-image", href: parsed.href, target: "_blank", rel: "noopener noreferrer", referrerpolicy: "no-referrer", title: parsed.href, text: label });
}

function contentNodes(content) {
  if (content === null || content === undefined) return [];
  if (typeof content === "string") return [h("div", { class: "text", text: content })];
  return content.map((part) => {
    if (part.type === "text") return h("div", { class: "text", text: part.text });
    if (part.type === "image_url") {
      const caption = h("figcaption", { text: part.caption || "(no caption)" });
      return h("figure", { class: "thumb" }, imageNode(part.image_url.url, part.caption), caption);
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

export { contentNodes, renderTimeline };
