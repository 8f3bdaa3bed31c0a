// turnmem inspector: plain JavaScript modules over the server's public REST API (no build step, no CDN).
// This file routes the hash (#/ns/NS/s/SESSION/context ...) to the pages and holds the key form.
import { KEY, errorBox, fail, h, keyForm, main } from "./common.js";
import { renderContext } from "./context.js";
import { renderEval } from "./eval.js";
import { renderSessions } from "./sessions.js";
import { renderTimeline } from "./timeline.js";

let renderId = 0;

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

route();
