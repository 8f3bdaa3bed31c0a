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

Run it on this branch, and with ``PYTHONPATH`` pointing at another checkout for a before/after
(``ServerProcess`` starts the server from the checkout it is imported from)::

    python benchmarks/abuse.py --label after
    PYTHONPATH=/tmp/base python benchmarks/abuse.py --label before

Prints a table and writes ``benchmarks/results/abuse.json`` (one entry per label, merged).
"""

from __future__ import annotations

import argparse
import json
import platform
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
from chatloop import pct_summary
from rich.console import Console
from rich.table import Table

import memory.service.process as process
from eval.synthetic import generate
from memory.service.process import ServerProcess

HERE = Path(__file__).resolve().parent
ABUSERS = 40


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
    questions = ["what did we decide about the trip?", "when is the dentist appointment?", "who is Maria?"]
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--label", default="after", help="the name of this run in the JSON (before, after)")
    ap.add_argument("--seconds", type=float, default=15.0, help="length of each victim phase")
    ap.add_argument("--victim-timeout", type=float, default=20.0, help="a victim request counts at most this (s)")
    ap.add_argument("--backlog", type=int, default=4000, help="abuser's chunks queued before the attack")
    ap.add_argument("--attacks", default="flush,wait_indexed")
    ap.add_argument("--out", default=str(HERE / "results" / "abuse.json"))
    args = ap.parse_args()
    console = Console(width=160)
    conv = generate(turns=200, seed=11).conversations[0]
    seed = [t.message for t in conv.turns]
    texts = [str(t.message.get("content")) for t in conv.turns]
    words = " ".join(texts).split()
    backlog = [" ".join(words[(i * 150) % max(1, len(words) - 150) :][:150]) + f" ({i})" for i in range(args.backlog)]
    rows = [run_attack(kind, args, seed, backlog) for kind in args.attacks.split(",")]

    table = Table(title=f"victim /context under abuse ({args.label}; code from {process.ROOT})")
    cols = ("attack", "alone p50", "alone p95", "backlog p95", "attacked p50", "attacked p95", "p95 ratio", "÷ backlog")
    for col in (*cols, "healthz p95", "abuser"):
        table.add_column(col, justify="left" if col in ("attack", "abuser") else "right")
    for r in rows:
        table.add_row(
            r["attack"],
            f"{r['alone']['context_ms']['p50']:.0f} ms",
            f"{r['alone']['context_ms']['p95']:.0f} ms",
            f"{r['backlog_only']['context_ms']['p95']:.0f} ms",
            f"{r['attacked']['context_ms']['p50']:.0f} ms",
            f"{r['attacked']['context_ms']['p95']:.0f} ms",
            f"{r['p95_ratio']:.2f}x",
            f"{r['p95_ratio_vs_backlog_only']:.2f}x",
            f"{r['attacked']['healthz_ms']['p95']:.0f} ms",
            ", ".join(f"{k}: {v}" for k, v in sorted(r["abuser_answers"].items()) if v),
        )
    console.print(table)
    out_path = Path(args.out)
    previous = json.loads(out_path.read_text()) if out_path.exists() else {}
    previous[args.label] = {
        "machine": {"python": platform.python_version(), "cpu": platform.processor() or platform.machine()},
        "code": str(process.ROOT),
        "seconds": args.seconds,
        "victim_timeout_s": args.victim_timeout,
        "abusers": ABUSERS,
        "rows": rows,
    }
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(json.dumps(previous, indent=2))
    console.print(f"wrote {out_path} ({args.label})")


if __name__ == "__main__":
    main()
