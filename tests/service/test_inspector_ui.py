"""The inspector at /ui in a real browser (Debian's Chromium, headless, driven by Playwright)
against the shared real server with API keys: what the page shows is what the API returns,
and a key never shows more than it may read."""

from __future__ import annotations

import base64
import http.server
import json
import math
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from memory import Memory
from memory.embedders import Embedder
from memory.service.app import create_app
from tests.fakes import serve
from tests.memory.test_write_behind import FACT, GatedEmbedder
from tests.service.browser import launch_chromium
from tests.service.helpers import ALPHA_KEY, ServerProcess
from tests.service.inspector_seed import IMAGE_CAPTION, NS, OTHER, SECRET
from tests.tiers import starts

QUERY = {"query": "what did the hotel lobby look like?", "budget": 600, "now": "2026-05-02T12:00:00Z"}
CONTEXT = f"/v1/namespaces/{NS}/sessions/trip-lisbon"


@pytest.fixture(scope="module")
@starts("chromium", "process")
def browser() -> Iterator[Browser]:
    with sync_playwright() as pw:
        chromium = launch_chromium(pw)
        yield chromium
        chromium.close()


PAGE_ERRORS: list[str] = []


@pytest.fixture(autouse=True)
def no_script_errors() -> Iterator[None]:
    """Every test fails on an uncaught error in the page's scripts."""
    PAGE_ERRORS.clear()
    yield
    assert PAGE_ERRORS == []


def open_page(browser: Browser, url: str, key: str | None = ALPHA_KEY, width: int = 1280, height: int = 800) -> Page:
    """A fresh tab (its own sessionStorage) on ``url``, with ``key`` entered in the page's key form."""
    context = browser.new_context(viewport={"width": width, "height": height})
    page = context.new_page()
    page.on("pageerror", lambda err: PAGE_ERRORS.append(str(err)))
    page.set_default_timeout(15_000)
    page.goto(url)
    if key is not None:
        page.fill("#key-input", key)
        page.press("#key-input", "Enter")
    return page


def api(server: ServerProcess, method: str, path: str, body: Any = None) -> Any:
    headers = {"Authorization": f"Bearer {ALPHA_KEY}"}
    r = httpx.request(method, server.url + path, json=body, headers=headers, timeout=60)
    r.raise_for_status()
    return r.json()


def test_list_then_timeline_shows_tool_calls_image_summary_and_state(seeded: ServerProcess, browser: Browser) -> None:
    page = open_page(browser, seeded.url + "/ui/")
    page.click(f"nav[aria-label=Namespaces] a:text-is('{NS}')")
    row = page.locator("tr[data-session='trip-lisbon']")
    expect(row).to_contain_text("21")  # messages
    page.fill("#session-filter", "notes")  # filters the sessions as one types
    expect(row).to_be_hidden()
    page.fill("#session-filter", "azulejo tiles")
    page.press("#session-filter", "Enter")  # searches the messages
    expect(page.locator(".search-hits li").first).to_contain_text("trip-lisbon #16")
    page.fill("#session-filter", "")
    row.locator("a").first.click()
    call = page.locator("details[data-call='call_weather']")
    call.locator("summary").click()
    expect(call.locator(".badge")).to_have_text("completed")
    expect(call.locator("pre.result")).to_contain_text('"june_high_c": 27')
    expect(page.locator("details[data-call='call_book_1'] .badge")).to_have_text("retried")
    expect(page.locator("details[data-call='call_flight'] .badge")).to_have_text("pending")
    assert page.locator("#seq-8").count() == 0  # the result is folded into its call, not a row of its own
    expect(page.locator("figure.thumb figcaption")).to_have_text(IMAGE_CAPTION)
    assert page.locator("figure.thumb img").evaluate("img => img.complete && img.naturalWidth") == 192
    expect(page.locator("details.file summary")).to_contain_text("budget.csv")
    expect(page.locator("li.summary-card")).to_contain_text("covers turns 1–6")
    assert page.locator("li.msg.covered").count() == 6
    expect(page.locator("dl.state dt:has-text('task') .badge")).to_have_text("v2")
    expect(page.locator(".current-stage")).to_have_text("quote")
    expect(page.locator(".stages li[aria-current=step]")).to_contain_text("quote")


def _context_page(seeded: ServerProcess, browser: Browser, width: int = 1280, height: int = 800) -> Page:
    page = open_page(browser, seeded.url + "/ui/#/ns/alpha-ui/s/trip-lisbon/context", width=width, height=height)
    page.fill("#ctx-query", QUERY["query"])
    page.fill("#ctx-now", QUERY["now"])
    page.locator("#ctx-budget").fill(str(QUERY["budget"]))
    page.click("#ctx-run")
    expect(page.locator("#tokenbar")).to_have_attribute("data-budget", str(QUERY["budget"]))
    expect(page.locator("#ctx-hits li.hit").first).to_be_visible()
    return page


def _bar(page: Page) -> tuple[int, int, float, float]:
    """(tokens the bar's segments hold, tokens it says, drawn width of the segments, width of the bar)."""
    held, said, drawn, width = page.locator("#tokenbar").evaluate(  # one read: the bar may be redrawn any time
        "bar => { const segs = [...bar.querySelectorAll('.seg')];"
        " return [segs.reduce((n, s) => n + Number(s.dataset.tokens), 0), Number(bar.dataset.tokens),"
        " segs.reduce((w, s) => w + s.getBoundingClientRect().width, 0), bar.clientWidth]; }"
    )
    return held, said, drawn, width


def test_token_bar_stays_within_the_budget_and_matches_the_api(seeded: ServerProcess, browser: Browser) -> None:
    page = _context_page(seeded, browser)
    held, said, drawn, width = _bar(page)
    plain = api(seeded, "POST", f"{CONTEXT}/context", QUERY)
    assert held == said == plain["tokens"] <= QUERY["budget"]
    assert drawn <= width + 0.5
    assert drawn == pytest.approx(width * plain["tokens"] / QUERY["budget"], abs=2.0)
    expect(page.locator("#ctx-tokens")).to_have_text(str(plain["tokens"]))
    assert page.locator("#ctx-messages > li").count() == len(plain["messages"])
    assert plain["unindexed"] == 0 and page.locator("#ctx-unindexed").count() == 0  # every chunk has its vector
    page.locator("#ctx-budget").fill("300")  # the slider redraws on its own
    expect(page.locator("#tokenbar")).to_have_attribute("data-budget", "300")
    held, said, drawn, width = _bar(page)
    small = api(seeded, "POST", f"{CONTEXT}/context", {**QUERY, "budget": 300})
    assert held == said == small["tokens"] <= 300
    assert drawn <= width + 0.5


def test_the_context_view_says_how_many_chunks_were_not_indexed_yet(
    browser: Browser, open_memory: Callable[..., Memory], fake_embedder: Embedder
) -> None:
    """A server whose indexer is held (and reads that do not wait): the context view shows the
    answer's ``unindexed`` count."""
    emb = GatedEmbedder(fake_embedder)
    mem = open_memory("held", embedder=emb, read_wait_s=0)
    try:
        mem.add([FACT, {"role": "assistant", "content": "Noted."}], session="s")
        with serve(create_app(mem)) as url:
            page = open_page(browser, url + "/ui/#/ns/default/s/s/context", key=None)
            page.fill("#ctx-query", "what is the locker code at the gym?")
            page.click("#ctx-run")
            expect(page.locator("#ctx-unindexed")).to_have_text("2 chunks not indexed yet")
    finally:
        emb.gate.set()


def _page_scores(page: Page) -> list[dict[str, float]]:
    return page.locator("#ctx-hits li.hit").evaluate_all(
        "hits => hits.map(h => Object.fromEntries([...h.querySelectorAll('.score')]"
        ".map(s => [s.dataset.key, Number(s.dataset.value)])))"
    )


def test_score_bars_are_the_api_numbers_and_a_piece_switched_off_redraws(
    seeded: ServerProcess, browser: Browser
) -> None:
    page = _context_page(seeded, browser)
    hits = api(seeded, "POST", f"{CONTEXT}/context/explain", QUERY)["context"]["hits"]
    shown = _page_scores(page)
    assert shown == [h["scores"] for h in hits]
    assert any("lexical" in s for s in shown)
    # each bar is its value over the largest of its kind (at least 1), drawn as the fill's share of the track
    top = page.locator("#ctx-hits li.hit").first
    for key, value in hits[0]["scores"].items():
        scale = max([1.0] + [abs(h["scores"][key]) for h in hits if key in h["scores"]])
        share = top.locator(f".score[data-key='{key}']").evaluate(
            "s => s.querySelector('.fill').getBoundingClientRect().width / s.querySelector('.track').clientWidth"
        )
        assert share == pytest.approx(max(0.0, value / scale), abs=0.02)
        expect(top.locator(f".score[data-key='{key}'] .sval")).to_have_text(f"{value:.3f}")

    page.uncheck("#piece-lexical_weight")  # redraws without lexical retrieval
    expect(page.locator(".ctx-total")).to_contain_text("off: lexical_weight")
    expect(page.locator(".ctx-total")).to_contain_text("since the last run: +")  # the change is marked
    off = api(seeded, "POST", f"{CONTEXT}/context/explain", {**QUERY, "config": {"lexical_weight": 0.0}})["context"]
    expect(page.locator("#ctx-hits li.hit")).to_have_count(len(off["hits"]))
    assert _page_scores(page) == [h["scores"] for h in off["hits"]]
    assert not any("lexical" in h["scores"] for h in off["hits"])


def test_a_wrong_key_shows_an_error_and_no_data(seeded: ServerProcess, browser: Browser) -> None:
    page = open_page(browser, seeded.url + "/ui/#/ns/alpha-ui/s/trip-lisbon", key="sk-wrong-key-000000000")
    expect(page.locator("#error")).to_contain_text("refused")
    expect(page.locator("#key-form")).to_be_visible()
    text = page.locator("body").inner_text()
    assert "Lisbon" not in text and NS not in text
    assert page.locator("li.msg, table.sessions, .ns-list").count() == 0


def test_a_key_for_one_namespace_never_shows_another(seeded: ServerProcess, browser: Browser) -> None:
    page = open_page(browser, seeded.url + "/ui/")
    names = page.locator("nav[aria-label=Namespaces] li a")
    expect(names.first).to_be_visible()
    assert OTHER not in names.all_inner_texts() and NS in names.all_inner_texts()
    for hash_ in (f"#/ns/{OTHER}", f"#/ns/{OTHER}/s/{SECRET}", f"#/ns/{OTHER}/s/{SECRET}/context"):
        page.goto(f"{seeded.url}/ui/{hash_}")
        expect(page.locator("#error")).to_contain_text("403")
        assert page.locator("tr[data-session], li.msg, #tokenbar").count() == 0
        text = page.locator("body").inner_text()
        assert SECRET not in text and "private note" not in text
    page.goto(f"{seeded.url}/ui/#/context")
    expect(page.locator("#ctx-ns")).to_be_visible()
    assert OTHER not in page.locator("#ctx-ns option").all_inner_texts()


def test_the_main_controls_are_reachable_by_keyboard(seeded: ServerProcess, browser: Browser) -> None:
    page = _context_page(seeded, browser)
    page.locator("body").focus()
    reached: list[str] = []
    for _ in range(40):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.id || document.activeElement.textContent.trim()"))
    for control in ("Sessions", "Try a context", "Eval results", "ctx-ns", "ctx-session", "ctx-query", "ctx-budget"):
        assert control in reached, (control, reached)
    assert "piece-lexical_weight" in reached and "ctx-run" in reached
    page.focus("#ctx-budget")
    before = page.input_value("#ctx-budget")
    page.keyboard.press("ArrowRight")
    assert int(page.input_value("#ctx-budget")) == int(before) + 50
    page.focus("#ctx-query")
    page.keyboard.press("Enter")  # submits the form
    expect(page.locator("#tokenbar")).to_have_attribute("data-budget", str(int(before) + 50))


def test_a_phone_width_window_has_no_horizontal_overflow(
    seeded: ServerProcess, browser: Browser, tmp_path: Path
) -> None:
    page = _context_page(seeded, browser, width=390, height=844)
    overflow = "document.documentElement.scrollWidth - document.documentElement.clientWidth"
    assert page.evaluate(overflow) <= 0
    page.goto(f"{seeded.url}/ui/#/ns/{NS}/s/trip-lisbon")
    page.locator("details[data-call='call_book_2'] summary").click()
    expect(page.locator("figure.thumb")).to_be_visible()
    assert page.evaluate(overflow) <= 0
    page.goto(f"{seeded.url}/ui/#/ns/{NS}")
    expect(page.locator("tr[data-session]").first).to_be_visible()
    assert page.evaluate(overflow) <= 0
    page.goto(f"{seeded.url}/ui/#/eval")
    page.set_input_files("#eval-file", str(write_results(tmp_path / "results.json")))
    expect(page.locator("table.missed tbody tr").first).to_be_visible()
    assert page.evaluate(overflow) <= 0


def write_results(path: Path) -> Path:
    """A small results.json as ``turnmem eval`` writes it (NaN included)."""
    rows = [
        {"strategy": s, "budget": b, "recall": r, "tokens_mean": t, "latest_value": math.nan}
        for s, b, r, t in [("dense", 256, 0.4, 250.0), ("dense", 1024, 0.7, 990.0), ("turnmem", 256, 0.6, 251.0)]
    ]
    record = {"strategy": "turnmem", "budget": 256, "question": "Where did Ana stay?", "category": "1", "tokens": 251}
    records = [
        {**record, "evidence": ["D1:3", "D2:1"], "found": ["D1:3"], "recall": 0.5, "ranks": {"D1:3": 1, "D2:1": 7}},
        {**record, "question": "Which tram?", "evidence": ["D1:5"], "found": [], "recall": 0.0, "ranks": {}},
        {**record, "question": "Found all", "evidence": ["D1:1"], "found": ["D1:1"], "recall": 1.0, "ranks": {}},
    ]
    payload = {"config": {"dataset": "locomo", "questions": 3}, "summary": rows, "by_category": [], "records": records}
    path.write_text(json.dumps(payload))  # json.dumps writes NaN, as the eval runner does
    return path


def test_uploaded_eval_results_draw_recall_vs_tokens_and_the_missed_questions(
    seeded: ServerProcess, browser: Browser, tmp_path: Path
) -> None:
    page = open_page(browser, seeded.url + "/ui/#/eval")
    page.set_input_files("#eval-file", str(write_results(tmp_path / "results.json")))
    expect(page.locator("#eval-chart circle")).to_have_count(3)
    dense = page.locator("#eval-chart circle[data-strategy=dense]")
    recalls = dense.evaluate_all("cs => cs.map(c => c.dataset.recall)")
    assert recalls == ["0.4", "0.7"]
    expect(page.locator("table.missed tbody tr")).to_have_count(2)
    expect(page.locator("table.missed")).to_contain_text("D2:1 rank 7")
    expect(page.locator("table.missed")).to_contain_text("D1:5 not ranked")
    assert "Found all" not in page.locator("table.missed").inner_text()


def test_as_of_in_try_a_context_draws_the_api_context_of_that_point(seeded: ServerProcess, browser: Browser) -> None:
    page = _context_page(seeded, browser)
    page.fill("#ctx-as-of", "3")
    page.click("#ctx-run")
    then = api(seeded, "POST", f"{CONTEXT}/context", {**QUERY, "as_of": 3})
    expect(page.locator("#ctx-tokens")).to_have_text(str(then["tokens"]))
    expect(page.locator("#ctx-messages > li")).to_have_count(len(then["messages"]))
    where = page.locator("#ctx-messages .meta .muted").all_inner_texts()
    seqs = [int(w.rsplit("#", 1)[1]) for w in where if w.startswith("trip-lisbon #")]
    assert seqs and max(seqs) <= 3
    page.fill("#ctx-as-of", "tomorrow-ish")
    page.click("#ctx-run")
    expect(page.locator("#error")).to_contain_text("as_of")


@contextmanager
def counting_image_server() -> Iterator[tuple[str, list[tuple[str, str | None]]]]:
    """An "outside" image host on another loopback port: it serves a PNG and records each request
    (path, Referer)."""
    hits: list[tuple[str, str | None]] = []
    png = base64.b64decode(
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
    )

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            hits.append((self.path, self.headers.get("Referer")))
            self.send_response(200)
            self.send_header("Content-Type", "image/png")
            self.send_header("Content-Length", str(len(png)))
            self.end_headers()
            self.wfile.write(png)

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/pixel.png?who=operator", hits
    finally:
        server.shutdown()
        server.server_close()


def test_a_remote_image_is_not_fetched_until_the_operator_clicks(seeded: ServerProcess, browser: Browser) -> None:
    session = f"remote-{uuid.uuid4().hex[:8]}"
    csp = httpx.get(seeded.url + "/ui/", timeout=30).headers["content-security-policy"]
    assert "img-src 'self' data: blob:;" in csp  # the page may not load an image from anywhere else
    with counting_image_server() as (url, hits):
        turn = {
            "role": "user",
            "content": [
                {"type": "text", "text": "here is the tracking pixel"},
                {"type": "image_url", "image_url": {"url": url}, "caption": "a remote picture"},
            ],
        }
        api(seeded, "POST", f"/v1/namespaces/{NS}/sessions/{session}/messages", {"messages": [turn]})
        context = browser.new_context()
        requested: list[str] = []
        context.on("request", lambda r: requested.append(r.url))
        page = context.new_page()
        page.on("pageerror", lambda err: PAGE_ERRORS.append(str(err)))
        page.set_default_timeout(15_000)
        page.goto(seeded.url + f"/ui/#/ns/{NS}/s/{session}")
        page.fill("#key-input", ALPHA_KEY)
        page.press("#key-input", "Enter")
        link = page.locator("figure.thumb a.remote-image")
        host = url.split("/")[2]
        expect(link).to_have_text(f"remote image from {host} — click to open it in a new tab")
        expect(page.locator("figure.thumb figcaption")).to_have_text("a remote picture")
        assert page.locator("figure.thumb img").count() == 0
        page.wait_for_load_state("networkidle")
        assert hits == [] and [u for u in requested if host in u] == []  # nothing asked of the outside host
        assert all(u.startswith(seeded.url) for u in requested)

        with context.expect_page() as opened:
            link.click()  # the operator's choice: the image in a tab of its own, without a referrer
        opened.value.wait_for_load_state()
        # the tab asks for the image without a referrer (and, later, its own favicon: the browser's)
        assert [h for h in hits if h[0] != "/favicon.ico"] == [("/pixel.png?who=operator", None)]
        context.close()


def test_docs_and_redoc_render_with_nothing_from_another_host(server: ServerProcess, browser: Browser) -> None:
    """``/docs`` and ``/redoc`` work offline: every request of the page stays on loopback (any other
    is refused and recorded), and the operations are listed."""
    context = browser.new_context()
    outside: list[str] = []

    def only_loopback(route: Any) -> None:
        host = route.request.url.split("/")[2].rsplit(":", 1)[0]
        if host in ("127.0.0.1", "localhost", "[::1]"):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    context.route("**/*", only_loopback)
    page = context.new_page()
    page.on("pageerror", lambda err: PAGE_ERRORS.append(str(err)))
    page.set_default_timeout(20_000)
    page.goto(server.url + "/docs")
    ops = page.locator(".opblock-summary-path")
    expect(ops.first).to_be_visible()
    paths = ops.all_inner_texts()
    assert len(paths) > 15 and any(
        "/v1/namespaces/{ns}/sessions/{session}/messages" in p.replace("\u200b", "") for p in paths
    )
    page.goto(server.url + "/redoc")
    expect(page.get_by_role("heading", name="turnmem").first).to_be_visible()
    expect(page.locator("li[data-item-id^='tag/']").first).to_be_attached()
    page.wait_for_load_state("networkidle")
    assert outside == []
    context.close()
