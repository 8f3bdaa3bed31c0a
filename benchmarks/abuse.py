"""One tenant against the others: another tenant's ``/context`` p50 / p95 (and ``/healthz``)
against ``turnmem serve`` on loopback, alone and while an abusive client keeps 40 long waiting
calls open in its own namespace: ``POST .../flush?timeout=120``, or writes with
``wait_indexed``, each behind a backlog of chunks the indexer needs minutes for.

Each attack gets a fresh server: the victim's session is stored, its contexts are timed alone,
the abuser queues its backlog (acknowledged writes, no wait), the victim is timed while the
indexer embeds it (the control: what the indexer's CPU alone costs the victim), then the abuser
opens 40 waiting calls (on a 503 it sleeps ``Retry-After`` and asks again, as the clients do)
and the victim is timed again.
A victim request that does not answer within ``--victim-timeout`` counts at that latency (a
lower bound). The server is killed after each attack (its backlog would take minutes to drain).

The hostile-input attacks (``cjk``, ``base64``, ``query``, ``deep``) each get a fresh server too:
one abusive client sends, in a loop, ``add`` of one 200k-character unbroken CJK message, ``add``
of a 1 MB base64 blob, a ``/context`` with a 2 MB query, or (``deep``) by turns a PATCH of a state
block nested 300 levels and a tool result nested 1,000 levels, while the victim's contexts are
timed (``--input-seconds`` each phase). The abuser's cost: its per-request time (a request not
answered within ``--abuser-timeout`` counts as "no answer"), its status codes, and the server's
CPU seconds during the attack. Each input row notes the load average.

Run it on this branch, and with ``PYTHONPATH`` pointing at another checkout for a before/after
(``ServerProcess`` starts the server from the checkout it is imported from)::

    python benchmarks/abuse.py --label after
    PYTHONPATH=/tmp/base python benchmarks/abuse.py --label before
    python benchmarks/abuse.py --label after --attacks cjk,base64,query,deep   # the input attacks only

Prints a table and writes ``benchmarks/results/abuse.json`` (one entry per label; a run's rows
replace those of the same attacks, the others stay).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from abuse_input import _b64, _cjk
from abuse_report import INPUTS, WAITING, merge, tables
from chatloop import pct_summary
from rich.console import Console

import memory.service.process as process
from eval.synthetic import generate
from memory.service.process import ServerProcess

HERE = Path(__file__).resolve().parent
ABUSERS = 40
QUESTIONS = ["what did we decide about the trip?", "when is the dentist appointment?", "who is Maria?"]


def victim_phase(url: str, questions: list[str], seconds: float, timeout: float) -> dict[str, Any]:
    """Contexts of the victim's session one after another for ``seconds``, and a /healthz each."""
    ctx: list[float] = []
    health: list[float] = []
    timeouts = 0
    end = time.monotonic() + seconds
    i = 0
    with httpx.Client(base_url=url, timeout=timeout) as http:
        while time.monotonic() < end:
            body = {"query": questions[i % len(questions)], "budget": 1024}
            t0 = time.perf_counter()
            try:
                http.post("/v1/namespaces/victim/sessions/chat/context", json=body).raise_for_status()
            except httpx.TimeoutException:
                timeouts += 1
            ctx.append((time.perf_counter() - t0) * 1000)
            t0 = time.perf_counter()
            try:
                http.get("/healthz").raise_for_status()
            except httpx.TimeoutException:
                timeouts += 1
            health.append((time.perf_counter() - t0) * 1000)
            i += 1
            time.sleep(0.05)
    return {"context_ms": pct_summary(ctx), "healthz_ms": pct_summary(health), "timeouts": timeouts}


def abuse(url: str, kind: str, stop: threading.Event, counts: dict[str, int], lock: threading.Lock) -> None:
    """One abusive client: a waiting call after another until ``stop``."""
    i = 0
    with httpx.Client(base_url=url, timeout=150) as http:
        while not stop.is_set():
            i += 1
            try:
                if kind == "flush":
                    resp = http.post("/v1/namespaces/abuser/flush", params={"timeout": 120})
                else:
                    msg = {"role": "user", "content": f"abuse {threading.get_ident()} {i}"}
                    resp = http.post(
                        f"/v1/namespaces/abuser/sessions/w{threading.get_ident()}/messages",
                        json={"messages": [msg], "wait_indexed": True},
                    )
            except httpx.HTTPError:
                with lock:
                    counts["errors"] += 1
                continue
            with lock:
                counts[str(resp.status_code)] = counts.get(str(resp.status_code), 0) + 1
            if resp.status_code == 503:
                stop.wait(float(resp.headers.get("Retry-After", "1")))


def run_attack(kind: str, args: argparse.Namespace, seed: list[dict[str, Any]], backlog: list[str]) -> dict[str, Any]:
    console = Console()
    questions = QUESTIONS
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp) / "data").start()
        try:
            with httpx.Client(base_url=server.url, timeout=120) as http:
                for k in range(0, len(seed), 25):
                    body = {"messages": seed[k : k + 25], "wait_indexed": True}
                    http.post("/v1/namespaces/victim/sessions/chat/messages", json=body).raise_for_status()
                victim_phase(server.url, questions, 3.0, args.victim_timeout)  # warm-up
                console.print(f"[{kind}] victim alone for {args.seconds:.0f} s ...")
                alone = victim_phase(server.url, questions, args.seconds, args.victim_timeout)
                t0 = time.perf_counter()
                for k in range(0, len(backlog), 25):  # acknowledged at once: the indexer's queue
                    msgs = [{"role": "user", "content": t} for t in backlog[k : k + 25]]
                    http.post("/v1/namespaces/abuser/sessions/backlog/messages", json={"messages": msgs})
                queued_s = time.perf_counter() - t0
            console.print(f"[{kind}] victim while the backlog is embedded, no waiting calls, {args.seconds:.0f} s")
            backlog_only = victim_phase(server.url, questions, args.seconds, args.victim_timeout)
            stop = threading.Event()
            counts: dict[str, int] = {"errors": 0}
            lock = threading.Lock()
            threads = [
                threading.Thread(target=abuse, args=(server.url, kind, stop, counts, lock), daemon=True)
                for _ in range(ABUSERS)
            ]
            for t in threads:
                t.start()
            time.sleep(2.0)  # every abuser has its call open
            console.print(f"[{kind}] victim under {ABUSERS} waiting {kind} calls for {args.seconds:.0f} s ...")
            attacked = victim_phase(server.url, questions, args.seconds, args.victim_timeout)
            stop.set()
            with lock:
                abuser = dict(counts)
        finally:
            server.kill()
    return {
        "attack": kind,
        "alone": alone,
        "backlog_only": backlog_only,
        "attacked": attacked,
        "abuser_answers": abuser,
        "backlog_chunks_approx": len(backlog),
        "backlog_queued_s": queued_s,
        "p95_ratio": attacked["context_ms"]["p95"] / alone["context_ms"]["p95"],
        "p50_ratio": attacked["context_ms"]["p50"] / alone["context_ms"]["p50"],
        "p95_ratio_vs_backlog_only": attacked["context_ms"]["p95"] / backlog_only["context_ms"]["p95"],
    }


def nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = {"a": value}
    return value


def hostile_requests(kind: str) -> list[tuple[str, str, str, Any]]:
    """The abuser's requests, sent by turns: (label, method, path, JSON body)."""
    ns = "/v1/namespaces/abuser/sessions/a"
    if kind in ("cjk", "base64"):
        text = _cjk(200_000) if kind == "cjk" else _b64(1_000_000)
        return [(kind, "POST", f"{ns}/messages", {"messages": [{"role": "user", "content": text}]})]
    if kind == "query":
        return [(kind, "POST", f"{ns}/context", {"query": "boiler " * 300_000, "budget": 1000})]
    call = {"id": "c-deep", "type": "function", "function": {"name": "f", "arguments": "{}"}}
    tool = [
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c-deep", "content": "[" * 1000 + "]" * 1000},
    ]
    return [
        ("state", "PATCH", f"{ns}/state", {"blocks": {"profile": nested(300)}}),
        ("tool", "POST", f"{ns}/messages", {"messages": tool}),
    ]


def proc_stats(pid: int) -> tuple[float, float]:
    """The server's CPU seconds (user + system) and resident MB, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    cpu = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    rss = int(fields[21]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    return cpu, rss


def input_abuser(url: str, kind: str, timeout: float, stop: threading.Event, out: dict[str, Any]) -> None:
    """One abusive client: the hostile requests one after another until ``stop``."""
    requests = hostile_requests(kind)
    with httpx.Client(base_url=url, timeout=timeout) as http:
        i = 0
        while not stop.is_set():
            label, method, path, body = requests[i % len(requests)]
            i += 1
            t0 = time.perf_counter()
            try:
                answer = str(http.request(method, path, json=body).status_code)
            except httpx.TimeoutException:
                answer = f"no answer in {timeout:.0f} s"
            except httpx.HTTPError as exc:
                answer = type(exc).__name__
            ms = (time.perf_counter() - t0) * 1000
            key = answer if len(requests) == 1 else f"{label} {answer}"
            out["answers"][key] = out["answers"].get(key, 0) + 1
            if answer.isdigit():
                out["ms"].append(ms)


def run_input_attack(kind: str, args: argparse.Namespace, seed: list[dict[str, Any]]) -> dict[str, Any]:
    console = Console()
    load_start = os.getloadavg()
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp) / "data").start()
        try:
            with httpx.Client(base_url=server.url, timeout=120) as http:
                for k in range(0, len(seed), 25):
                    body = {"messages": seed[k : k + 25], "wait_indexed": True}
                    http.post("/v1/namespaces/victim/sessions/chat/messages", json=body).raise_for_status()
                body = {"messages": seed[:50], "wait_indexed": True}  # something for the 2 MB query to find
                http.post("/v1/namespaces/abuser/sessions/a/messages", json=body).raise_for_status()
            victim_phase(server.url, QUESTIONS, 3.0, args.victim_timeout)  # warm-up
            console.print(f"[{kind}] victim alone for {args.input_seconds:.0f} s ...")
            alone = victim_phase(server.url, QUESTIONS, args.input_seconds, args.victim_timeout)
            assert server.proc is not None
            cpu0, rss0 = proc_stats(server.proc.pid)
            stop = threading.Event()
            out: dict[str, Any] = {"answers": {}, "ms": []}
            abuser = threading.Thread(
                target=input_abuser, args=(server.url, kind, args.abuser_timeout, stop, out), daemon=True
            )
            abuser.start()
            time.sleep(1.0)
            console.print(f"[{kind}] victim under one abusive client in a loop for {args.input_seconds:.0f} s ...")
            attacked = victim_phase(server.url, QUESTIONS, args.input_seconds, args.victim_timeout)
            stop.set()
            abuser.join(args.abuser_timeout + 5)  # its last request answers or times out
            cpu1, rss1 = proc_stats(server.proc.pid)
        finally:
            server.kill()
    req = pct_summary(out["ms"])
    return {
        "attack": kind,
        "code": str(process.ROOT),
        "seconds": args.input_seconds,
        "victim_timeout_s": args.victim_timeout,
        "abuser_timeout_s": args.abuser_timeout,
        "load_avg": [round(x, 2) for x in os.getloadavg()],
        "load_avg_at_start": [round(x, 2) for x in load_start],
        "alone": alone,
        "attacked": attacked,
        "abuser": {"answers": out["answers"], "requests_ms": {**req, "max": max(out["ms"], default=None)}},
        "server_cpu_s": cpu1 - cpu0,
        "server_rss_mb": [round(rss0), round(rss1)],
        "p95_ratio": attacked["context_ms"]["p95"] / alone["context_ms"]["p95"],
        "p50_ratio": attacked["context_ms"]["p50"] / alone["context_ms"]["p50"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--label", default="after", help="the name of this run in the JSON (before, after)")
    ap.add_argument("--seconds", type=float, default=15.0, help="length of each victim phase")
    ap.add_argument("--victim-timeout", type=float, default=20.0, help="a victim request counts at most this (s)")
    ap.add_argument("--backlog", type=int, default=4000, help="abuser's chunks queued before the attack")
    ap.add_argument("--input-seconds", type=float, default=20.0, help="length of each phase of an input attack")
    ap.add_argument("--abuser-timeout", type=float, default=30.0, help="an input abuser's client timeout (s)")
    ap.add_argument("--attacks", default=",".join((*WAITING, *INPUTS)), help="of " + ", ".join((*WAITING, *INPUTS)))
    ap.add_argument("--out", default=str(HERE / "results" / "abuse.json"))
    args = ap.parse_args()
    console = Console(width=160)
    conv = generate(turns=200, seed=11).conversations[0]
    seed = [t.message for t in conv.turns]
    texts = [str(t.message.get("content")) for t in conv.turns]
    words = " ".join(texts).split()
    backlog = [" ".join(words[(i * 150) % max(1, len(words) - 150) :][:150]) + f" ({i})" for i in range(args.backlog)]
    rows = [
        run_attack(kind, args, seed, backlog) if kind in WAITING else run_input_attack(kind, args, seed)
        for kind in args.attacks.split(",")
    ]

    for table in tables(rows, args.label, str(process.ROOT)):
        console.print(table)
    out_path = Path(args.out)
    previous = json.loads(out_path.read_text()) if out_path.exists() else {}
    meta = {
        "machine": {"python": platform.python_version(), "cpu": platform.processor() or platform.machine()},
        "code": str(process.ROOT),
        "seconds": args.seconds,
        "victim_timeout_s": args.victim_timeout,
        "abusers": ABUSERS,
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(merge(previous, args.label, meta, rows), indent=2))
    console.print(f"wrote {out_path} ({args.label})")


if __name__ == "__main__":
    main()
