"""Every route the README names exists with its method in the service's OpenAPI schema, and the
fields the README's route tables give for a body or an answer are the schema's."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from memory.embedders import Embedder
from memory.memory import Memory
from memory.service.app import create_app

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
VERB = f"(?:{'|'.join(METHODS)})"
SESSION_LEVEL = ("state", "state-machine", "tool-calls", "summaries")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, fake_embedder: Embedder) -> Iterator[FastAPI]:
    """The app in process, on the fake embedder: routes and schemas do not depend on the model."""
    with Memory.open(tmp_path_factory.mktemp("routes") / "m", embedder=fake_embedder) as mem:
        yield create_app(mem)


@pytest.fixture(scope="module")
def schema(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def test_the_try_it_page_and_the_inspector_are_served(app: FastAPI) -> None:
    """ "OpenAPI schema and a try-it page at `/docs`"; the inspector at `/ui/`."""
    assert "a try-it page at `/docs`" in README and "http://127.0.0.1:8080/ui/" in README
    client = TestClient(app)
    assert "swagger" in client.get("/docs").text.lower()
    assert client.get("/openapi.json").json()["paths"]
    page = client.get("/ui/")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")


def expand(path: str) -> str:
    """A README path with `...` for the prefix, as the schema spells it, parameters as ``{}`` (a query
    string, as in ``/flush?timeout=30``, is not part of the route)."""
    path = path.split("?", 1)[0]
    if path.startswith(".../"):
        rest = path[4:]
        head = "/v1/namespaces/{ns}/"
        if not rest.startswith("sessions") and rest.split("/")[0] in SESSION_LEVEL:
            head += "sessions/{session}/"
        path = head + rest
    return re.sub(r"\{[^}]+\}", "{}", path)


def readme_routes_of(line: str) -> list[tuple[str, str, str]]:
    """(method, path, the line) for every route in backticks on ``line``; a path without a method
    takes the last method named before it on the line."""
    found = []
    method = None
    for span in re.findall(r"`([^`]+)`", line):
        m = re.fullmatch(rf"({VERB}(?:/{VERB})?) (/v1\S*|/healthz|\.\.\./\S+)", span)
        if m:
            method, path = m.group(1), m.group(2)
        elif method and re.fullmatch(r"(/v1\S*|\.\.\./\S+)", span):
            path = span
        else:
            continue
        found += [(each, expand(path), line.strip()[:80]) for each in method.split("/")]
    return found


ROUTES = [route for line in README.splitlines() for route in readme_routes_of(line)]


def test_the_readme_names_the_routes_this_test_reads() -> None:
    assert len(ROUTES) >= 25


def test_every_route_the_readme_names_is_served(schema: dict[str, Any]) -> None:
    served = {(m.upper(), re.sub(r"\{[^}]+\}", "{}", p)) for p, ops in schema["paths"].items() for m in ops}
    missing = [(m, p, line) for m, p, line in ROUTES if (m, p) not in served]
    assert not missing, f"routes the README names that the service does not have: {missing}"
    named = {(m, p) for m, p, _ in ROUTES}
    unnamed = served - named
    assert not unnamed, f"routes the service has and the README does not name: {sorted(unnamed)}"


def resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def fields(schema: dict[str, Any], node: dict[str, Any] | None) -> set[str]:
    node = resolve(schema, node or {})
    for alt in node.get("anyOf", []) + node.get("allOf", []):
        if "$ref" in alt or "properties" in alt:
            node = resolve(schema, alt)
    return set(node.get("properties", {}))


def table_rows() -> list[tuple[str, str, set[str], set[str]]]:
    """(method, path, body fields, answer fields) of the route tables' rows that spell them out."""
    rows = []
    for line in README.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 2 or not re.match(rf"`(?:{'|'.join(METHODS)}) ", cells[0]):
            continue
        # several routes in one row: the fields shown are the last one's (`.../context`, `.../search` |
        # ... `{"query", "k"}` | `Context`; `{"hits"}`), which takes the last method named before it
        method, path = readme_routes_of(cells[0])[-1][:2]

        def names(cell: str, which: int) -> set[str]:
            blocks = re.findall(r"`\{([^`]*)\}`", cell)
            keys = re.sub(r':\s*"[^"]*"', "", blocks[which]) if blocks else ""  # `{"status": "ok"}`: a key, a value
            return set(re.findall(r'"(\w+)"', keys))

        body = names(cells[1], 0) if len(cells) == 3 else set()
        rows.append((method, path, body, names(cells[-1], -1)))
    return rows


def test_the_fields_the_route_tables_give_are_the_schemas(schema: dict[str, Any]) -> None:
    paths = {re.sub(r"\{[^}]+\}", "{}", p): ops for p, ops in schema["paths"].items()}
    checked = 0
    for method, path, body, answer in table_rows():
        op = paths[path][method.lower()]
        if body:
            sent = op["requestBody"]["content"]["application/json"]["schema"]
            assert body <= fields(schema, sent), (method, path, body - fields(schema, sent))
            checked += 1
        if answer:
            got = fields(schema, op["responses"]["200"]["content"]["application/json"]["schema"])
            assert answer <= got, (method, path, answer - got)
            checked += 1
    assert checked >= 8
    # named in the prose: `"wait_indexed": true` in a write's body, `"timezone"` in a context's
    write = paths["/v1/namespaces/{}/sessions/{}/messages"]["post"]["requestBody"]["content"]["application/json"]
    context = paths["/v1/namespaces/{}/sessions/{}/context"]["post"]["requestBody"]["content"]["application/json"]
    assert '`"wait_indexed": true`' in README and "wait_indexed" in fields(schema, write["schema"])
    assert '`"timezone"` in the service\'s context body' in README and "timezone" in fields(schema, context["schema"])
