"""The inspector's read routes: the same 401/403 rules as the core routes, numbers that add up to
what the core routes return, and eval results that cannot be read from outside --eval-dir."""

from __future__ import annotations

import json
import math
from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient

from eval.cli import main
from memory.errors import InvalidArgument
from memory.memory import Memory
from memory.service.app import KeyRing, create_app
from memory.service.inspect_routes import eval_folder
from memory.tokens import REPLY_PRIMING
from tests.service.helpers import ALPHA_KEY, ServerProcess
from tests.service.inspector_seed import NS, OTHER, SECRET

SESSION = "/v1/namespaces/{ns}/sessions/{s}"
READS = [
    ("GET", "/v1/namespaces/{ns}/session-activity"),
    ("GET", SESSION + "/summaries"),
    ("GET", SESSION + "/state/history"),
    ("GET", SESSION + "/state-machine"),
    ("POST", SESSION + "/context/explain"),
    ("POST", "/v1/namespaces/{ns}/context/explain"),
]


def call(
    server: ServerProcess, method: str, path: str, key: str | None = ALPHA_KEY, body: object = None
) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    if method == "POST" and body is None:
        body = {"query": "hotel", "budget": 500}
    return httpx.request(method, server.url + path, headers=headers, json=body, timeout=60)


@pytest.mark.parametrize(("method", "template"), READS)
def test_namespace_routes_refuse_like_the_core_routes(seeded: ServerProcess, method: str, template: str) -> None:
    mine = template.format(ns=NS, s="trip-lisbon")
    assert call(seeded, method, mine, key=None).status_code == 401
    wrong = call(seeded, method, mine, key="sk-not-a-known-key-0000")
    assert wrong.status_code == 401 and wrong.json()["error"] == "PermissionDenied"
    theirs = call(seeded, method, template.format(ns=OTHER, s=SECRET))
    assert theirs.status_code == 403 and "beta" in theirs.json()["detail"]
    assert "private" not in theirs.text
    assert call(seeded, method, mine).status_code == 200


@pytest.mark.parametrize("path", ["/v1/assemble-config", "/v1/eval-results", "/v1/eval-results/x"])
def test_routes_without_a_namespace_need_a_known_key(seeded: ServerProcess, path: str) -> None:
    assert call(seeded, "GET", path, key=None).status_code == 401
    assert call(seeded, "GET", path, key="sk-not-a-known-key-0000").status_code == 401


def test_the_routes_are_in_the_openapi_schema(seeded: ServerProcess) -> None:
    paths = httpx.get(seeded.url + "/openapi.json").json()["paths"]
    for method, template in READS:
        assert method.lower() in paths[template.replace("{s}", "{session}")]
    for path in ("/v1/assemble-config", "/v1/eval-results", "/v1/eval-results/{run}"):
        assert "get" in paths[path]
    assert httpx.get(seeded.url + "/ui/").headers["content-security-policy"].startswith("default-src 'self'")


def test_session_activity_state_history_and_summaries(seeded: ServerProcess) -> None:
    rows = {r["session"]: r for r in call(seeded, "GET", f"/v1/namespaces/{NS}/session-activity").json()}
    assert set(rows) == {"trip-lisbon", "notes"}  # the ::summaries companion is folded into its session
    assert rows["trip-lisbon"]["messages"] == rows["trip-lisbon"]["last_seq"] == 21
    assert rows["trip-lisbon"]["summaries"] == 1 and rows["notes"]["summaries"] == 0
    base = f"/v1/namespaces/{NS}/sessions/trip-lisbon"
    history = call(seeded, "GET", base + "/state/history").json()
    assert [b["version"] for b in history["task"]] == [1, 2] and history["task"][1]["value"].startswith("Lisbon")
    [summary] = call(seeded, "GET", base + "/summaries").json()
    assert summary["metadata"]["summary_of"] == {"session": "trip-lisbon", "from_seq": 1, "to_seq": 6}
    machine = call(seeded, "GET", base + "/state-machine").json()
    assert machine["stage"] == "quote" and machine["machine"]["initial"] == "intake"
    assert call(seeded, "GET", f"/v1/namespaces/{NS}/sessions/notes/state-machine").json() == {
        "machine": None,
        "stage": None,
    }


@pytest.mark.parametrize("session", ["trip-lisbon", None])
def test_explained_segments_add_up_to_the_context_the_core_route_returns(
    seeded: ServerProcess, session: str | None
) -> None:
    base = f"/v1/namespaces/{NS}" + (f"/sessions/{session}" if session else "")
    body = {"query": None, "budget": 3000, "system": "You plan trips."}
    res = call(seeded, "POST", base + "/context/explain", body=body).json()
    plain = call(seeded, "POST", base + "/context", body=body).json()
    ctx = res["context"]
    assert ctx["messages"] == plain["messages"] and ctx["tokens"] == plain["tokens"]
    assert sum(res["segments"].values()) == ctx["tokens"] <= 3000
    assert len(res["message_tokens"]) == len(ctx["messages"])
    assert res["segments"]["system"] == REPLY_PRIMING + res["message_tokens"][0]
    if session:  # pinned state, and the session's window
        assert res["segments"]["state"] == res["message_tokens"][1] > 0 and res["segments"]["summaries"] == 0
    else:  # the namespace's timeline holds the summary message itself
        assert res["segments"]["state"] == 0 and res["segments"]["summaries"] > 0


def test_a_bad_override_is_named_like_on_the_core_route(seeded: ServerProcess) -> None:
    body = {"query": "hotel", "budget": 500, "config": {"lexical_weight": -1}}
    for path in ("/context", "/context/explain"):
        r = call(seeded, "POST", f"/v1/namespaces/{NS}/sessions/trip-lisbon{path}", body=body)
        assert r.status_code == 422 and r.json()["field"] == "config.lexical_weight"


# -- eval results under --eval-dir -------------------------------------------------------------


@pytest.fixture
def evals(tmp_path: Path, mem: Memory) -> TestClient:
    root = tmp_path / "evals"
    payload = {"summary": [{"strategy": "dense", "recall": math.nan}], "records": []}
    for rel in ("", "locomo", "locomo/small", "a/b/c"):
        (root / rel).mkdir(parents=True, exist_ok=True)
        (root / rel / "results.json").write_text(json.dumps(payload))
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "results.json").write_text('{"secret": true}')
    (root / "link").symlink_to(outside, target_is_directory=True)
    app = create_app(mem, KeyRing(keys={ALPHA_KEY: ["alpha"]}), eval_dir=root)
    return TestClient(app, headers={"Authorization": f"Bearer {ALPHA_KEY}"})


@pytest.mark.fake_embedder  # the app in process: the model is not the point
def test_eval_runs_are_listed_by_name_and_nothing_outside_is_served(evals: TestClient) -> None:
    listing = evals.get("/v1/eval-results").json()
    assert listing == {"enabled": True, "runs": ["evals", "locomo", "locomo/small"]}  # 3 levels down: not listed
    for run in listing["runs"]:
        data = evals.get(f"/v1/eval-results/{run}").json()
        assert data["summary"][0]["recall"] is None  # NaN as null: browsers refuse NaN in JSON
    for attack in ("../outside", "..%2Foutside", "%2e%2e/outside", "link", "/etc/passwd", "locomo/../../outside"):
        r = evals.get(f"/v1/eval-results/{attack}")
        assert r.status_code == 404 and "secret" not in r.text, attack
    assert evals.get("/v1/eval-results/a/b/c").status_code == 404
    assert TestClient(evals.app).get("/v1/eval-results").status_code == 401


@pytest.mark.fake_embedder
def test_without_eval_dir_nothing_is_listed_and_a_missing_folder_is_refused(
    mem: Memory, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client = TestClient(create_app(mem))
    assert client.get("/v1/eval-results").json() == {"enabled": False, "runs": []}
    assert client.get("/v1/eval-results/anything").status_code == 404
    with pytest.raises(InvalidArgument, match="eval_dir"):
        eval_folder(tmp_path / "nope")
    assert main(["serve", "--data", str(tmp_path / "data"), "--eval-dir", str(tmp_path / "nope")]) == 2
    assert "eval_dir: " in capsys.readouterr().err  # before the model loads or the port opens
