"""API keys map to namespaces; a key never reaches another namespace; no keys means loopback only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from memory.client import Client
from memory.errors import InvalidArgument, PermissionDenied
from memory.service.app import KeyRing, is_loopback
from tests.service.helpers import ADMIN_KEY, ALPHA_KEY, BETA_KEY, KEYS, ROOT, ServerProcess

ROUTES = [
    ("POST", "/v1/namespaces/{ns}/sessions/s/messages", {"messages": [{"role": "user", "content": "secret 991"}]}),
    ("GET", "/v1/namespaces/{ns}/sessions/s/messages?since=0", None),
    ("POST", "/v1/namespaces/{ns}/sessions/s/context", {"query": "secret", "budget": 200}),
    ("POST", "/v1/namespaces/{ns}/context", {"query": "secret", "budget": 200}),
    ("POST", "/v1/namespaces/{ns}/search", {"query": "secret"}),
    ("GET", "/v1/namespaces/{ns}/sessions", None),
    ("GET", "/v1/namespaces/{ns}/sessions/s", None),
    ("GET", "/v1/namespaces/{ns}/messages", None),
    ("GET", "/v1/namespaces/{ns}/sessions/s/state", None),
    ("PATCH", "/v1/namespaces/{ns}/sessions/s/state", {"blocks": {"task": "steal"}}),
    ("PUT", "/v1/namespaces/{ns}/sessions/s/state-machine", {"initial": "a", "stages": {"a": {}}}),
    ("GET", "/v1/namespaces/{ns}/sessions/s/tool-calls", None),
    ("DELETE", "/v1/namespaces/{ns}/sessions/s", None),
    ("DELETE", "/v1/namespaces/{ns}", None),
]


def _call(server: ServerProcess, method: str, path: str, body: dict | None, key: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx.request(method, server.url + path, json=body, headers=headers, timeout=60)


@pytest.mark.parametrize("method,path,body", ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_another_namespaces_key_is_refused_and_changes_nothing(
    server: ServerProcess, admin: Client, method: str, path: str, body: dict | None
) -> None:
    admin.add([{"role": "user", "content": "beta's secret is 991"}], session="s", namespace="beta")
    before = admin.since("s", namespace="beta")
    resp = _call(server, method, path.format(ns="beta"), body, ALPHA_KEY)
    assert resp.status_code == 403
    assert resp.json()["error"] == "PermissionDenied" and "beta" in resp.json()["detail"]
    assert "991" not in resp.text
    for key in (None, "sk-not-a-known-key-000"):
        resp = _call(server, method, path.format(ns="beta"), body, key)
        assert resp.status_code == 401 and resp.headers["www-authenticate"] == "Bearer"
    assert admin.since("s", namespace="beta") == before


def test_keys_reach_their_own_namespaces_and_patterns(server: ServerProcess) -> None:
    with Client(server.url, api_key=ALPHA_KEY) as alpha, Client(server.url, api_key=BETA_KEY) as beta:
        alpha.add([{"role": "user", "content": "alpha note"}], session="k", namespace="alpha-team")  # "alpha-*"
        beta.add([{"role": "user", "content": "beta note"}], session="k", namespace="beta")
        assert "beta" not in alpha.namespaces() and "alpha-team" in alpha.namespaces()
        assert beta.namespaces() == ["beta"]
        with pytest.raises(PermissionDenied) as info:
            beta.since("k", namespace="alpha-team")
        assert info.value.status == 403
    with Client(server.url, api_key="sk-wrong-key-123456") as nobody, pytest.raises(PermissionDenied) as info:
        nobody.namespaces()
    assert info.value.status == 401


def test_health_needs_no_key(server: ServerProcess) -> None:
    assert httpx.get(server.url + "/healthz").json()["status"] == "ok"


@pytest.mark.needs("process")
def test_server_refuses_a_non_loopback_host_without_keys(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "TURNMEM_API_KEYS"}
    env["PYTHONPATH"] = str(ROOT)
    out = subprocess.run(
        [sys.executable, "-m", "eval.cli", "serve", "--data", str(tmp_path / "d"), "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert out.returncode == 2
    assert "--keys" in out.stderr and "0.0.0.0" in out.stderr
    assert not (tmp_path / "d").exists()  # refused before anything was opened


def test_keyring_loading(tmp_path: Path) -> None:
    f = tmp_path / "keys.json"
    f.write_text(json.dumps({"keys": {"sk-0123456789": ["a", "team-*"]}}))
    ring = KeyRing.load(f)
    assert ring.allows("sk-0123456789", "team-x") and not ring.allows("sk-0123456789", "b")
    assert not ring.allows("sk-other-key", "a")
    assert KeyRing.load(env='{"sk-0123456789": ["*"]}').allows("sk-0123456789", "anything")
    assert KeyRing.load(env="").keys == {}
    for bad in ('{"keys": {"short": ["a"]}}', '{"keys": {"sk-0123456789": []}}', "not json"):
        with pytest.raises(InvalidArgument) as info:
            KeyRing.load(env=bad)
        assert info.value.field == "keys"
    with pytest.raises(InvalidArgument, match="cannot read"):
        KeyRing.load(tmp_path / "missing.json")
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.4")


SECRET_KEY = "sk-live-9f8e7d6c5b4a39281706"
MALFORMED_KEYS = {  # a keys file a hand might write, and what the message must point at
    "a string, not a list": ('{"keys": {\n  "%s": "alice"\n}}', "line 2"),
    "a non-string pattern": ('{\n"sk-good-key-0001": ["a"],\n"%s": [1]}', "key #2 (line 3)"),
    "no namespaces": ('{"keys": {"%s": []}}', "has no namespaces"),
    "a list of keys": ('{"keys": ["%s"]}', "must be an object"),
    "a short key among long ones": ('{"%s": ["a"], "sk-1": ["b"]}', "key #2 (line 1)"),
    "trailing comma": ('{"%s": ["a"],}', "line 1 column"),
    "a bare key": ('"%s"', "a JSON str"),
}


@pytest.mark.parametrize("case", MALFORMED_KEYS, ids=list(MALFORMED_KEYS))
def test_a_malformed_keys_file_never_prints_a_key(tmp_path: Path, case: str) -> None:
    template, points_at = MALFORMED_KEYS[case]
    f = tmp_path / "keys.json"
    f.write_text(template.replace("%s", SECRET_KEY))
    with pytest.raises(InvalidArgument) as info:
        KeyRing.load(f)
    text = str(info.value) + repr(info.value.body())
    assert SECRET_KEY not in text and SECRET_KEY[:8] not in text and "sk-1" not in text  # no key, no part of one
    assert info.value.field == "keys" and points_at in str(info.value) and str(f) in str(info.value)
    assert info.value.__cause__ is None  # no chained pydantic error either
    assert info.value.__context__ is None or info.value.__suppress_context__


def test_a_keyring_built_in_code_never_shows_its_keys() -> None:
    for bad in ({SECRET_KEY: "alice"}, {SECRET_KEY: [1]}, {SECRET_KEY: []}, {"sk-1": ["a"]}):
        with pytest.raises(ValueError) as info:  # pydantic's ValidationError, input values hidden
            KeyRing(keys=bad)  # type: ignore[arg-type]
        assert SECRET_KEY not in str(info.value) and "sk-1" not in str(info.value) and "key #1" in str(info.value)


@pytest.mark.needs("process")
def test_serve_with_a_malformed_keys_file_prints_no_key(tmp_path: Path) -> None:
    f = tmp_path / "keys.json"
    f.write_text(MALFORMED_KEYS["a string, not a list"][0].replace("%s", SECRET_KEY))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-m", "eval.cli", "serve", "--data", str(tmp_path / "d"), "--keys", str(f)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert out.returncode == 2 and "key #1 (line 2)" in out.stderr and "list of namespace patterns" in out.stderr
    assert SECRET_KEY not in out.stderr + out.stdout and "Traceback" not in out.stderr


def test_a_keyring_shows_no_key_in_its_repr() -> None:
    ring = KeyRing(keys={SECRET_KEY: ["alice"]})
    assert SECRET_KEY not in repr(ring) and SECRET_KEY not in str(ring)


@pytest.mark.needs("server", "process")
def test_the_server_log_never_holds_a_key(tmp_path: Path) -> None:
    """At ``--log-level info`` (access log on): keys accepted, refused on another namespace, unknown,
    or sent the wrong way never reach the log."""
    wrong = "sk-live-not-a-known-key-4242"
    with ServerProcess(tmp_path / "d", keys=KEYS, extra_args=["--log-level", "info"]) as srv:
        turn = {"messages": [{"role": "user", "content": "hello"}]}
        assert _call(srv, "POST", "/v1/namespaces/alpha/sessions/s/messages", turn, ALPHA_KEY).status_code == 200
        assert _call(srv, "GET", "/v1/namespaces/beta/sessions/s/messages", None, ALPHA_KEY).status_code == 403
        assert _call(srv, "GET", "/v1/namespaces/alpha/sessions/s/messages", None, wrong).status_code == 401
        basic = httpx.get(srv.url + "/v1/namespaces", headers={"Authorization": f"Basic {BETA_KEY}"}, timeout=60)
        assert basic.status_code == 401
        assert (
            _call(srv, "POST", "/v1/namespaces/alpha/sessions/s/messages", {"messages": 5}, ALPHA_KEY).status_code
            == 422
        )
    log = srv.log.read_text()
    assert '"POST /v1/namespaces/alpha/sessions/s/messages HTTP/1.1" 200' in log and " 401" in log  # it logs requests
    for key in (ALPHA_KEY, BETA_KEY, ADMIN_KEY, wrong):
        assert key not in log and key[8:] not in log
