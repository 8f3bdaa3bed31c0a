"""Property-based fuzzing of the API from its own OpenAPI schema (schemathesis, against the real
server): no generated input gets a 5xx, every answer matches the published schema (status codes,
bodies, content types), and bad input is refused."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.service.helpers import ADMIN_KEY, ServerProcess

OPERATIONS = [
    "GET /healthz",
    "GET /v1/namespaces",
    "DELETE /v1/namespaces/{ns}",
    "GET /v1/namespaces/{ns}/sessions",
    "GET /v1/namespaces/{ns}/messages",
    "POST /v1/namespaces/{ns}/context",
    "POST /v1/namespaces/{ns}/search",
    "POST /v1/namespaces/{ns}/flush",
    "GET /v1/namespaces/{ns}/sessions/{session}",
    "DELETE /v1/namespaces/{ns}/sessions/{session}",
    "POST /v1/namespaces/{ns}/sessions/{session}/messages",
    "GET /v1/namespaces/{ns}/sessions/{session}/messages",
    "POST /v1/namespaces/{ns}/sessions/{session}/context",
    "GET /v1/namespaces/{ns}/sessions/{session}/state",
    "PATCH /v1/namespaces/{ns}/sessions/{session}/state",
    "PUT /v1/namespaces/{ns}/sessions/{session}/state-machine",
    "GET /v1/namespaces/{ns}/sessions/{session}/tool-calls",
    # the inspector's read routes (memory/service/inspect_routes.py)
    "GET /v1/namespaces/{ns}/session-activity",
    "GET /v1/namespaces/{ns}/sessions/{session}/summaries",
    "GET /v1/namespaces/{ns}/sessions/{session}/state/history",
    "GET /v1/namespaces/{ns}/sessions/{session}/state-machine",
    "POST /v1/namespaces/{ns}/sessions/{session}/context/explain",
    "POST /v1/namespaces/{ns}/context/explain",
    "GET /v1/assemble-config",
    "GET /v1/eval-results",
    "GET /v1/eval-results/{run}",
]


pytestmark = pytest.mark.slow  # fuzzes every route: about 35 s beside the shared server


@pytest.fixture(scope="module")
def api_schema(server: ServerProcess) -> schemathesis.BaseSchema:
    return schemathesis.openapi.from_url(server.url + "/openapi.json")


def test_the_fuzzed_operations_are_all_the_operations(api_schema: schemathesis.BaseSchema) -> None:
    labels = {result.ok().label for result in api_schema.get_all_operations()}
    assert labels == set(OPERATIONS)


@pytest.mark.parametrize("label", OPERATIONS)
def test_no_input_gets_a_server_error(api_schema: schemathesis.BaseSchema, label: str) -> None:
    operation = api_schema.find_operation_by_label(label)
    assert operation is not None

    @given(case=operation.as_strategy())
    @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
    def fuzz(case: schemathesis.Case) -> None:
        # positive_data_acceptance is left out: some schema-valid requests are refused on purpose by
        # what no schema can say (a budget too small for this system prompt, a stale base_seq: 409)
        case.call_and_validate(
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
            excluded_checks=[schemathesis.checks.positive_data_acceptance],
            timeout=60,
        )

    fuzz()


BOUNDED = [
    "POST /v1/namespaces/{ns}/sessions/{session}/context",
    "POST /v1/namespaces/{ns}/context",
    "POST /v1/namespaces/{ns}/search",
    "GET /v1/namespaces/{ns}/messages",
]


@pytest.mark.parametrize("label", BOUNDED)
def test_input_outside_the_bounds_is_refused_naming_the_field(api_schema: schemathesis.BaseSchema, label: str) -> None:
    """Negative fuzzing of the routes with service bounds (config options, candidates, page size):
    whatever breaks the schema is a 4xx, never a 5xx, and a 422 names the field at fault."""
    operation = api_schema.find_operation_by_label(label)
    assert operation is not None

    @given(case=operation.as_strategy(generation_mode=schemathesis.GenerationMode.NEGATIVE))
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
    def fuzz(case: schemathesis.Case) -> None:
        resp = case.call(headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=60)
        assert resp.status_code < 500, resp.text
        if resp.status_code == 422:
            assert resp.json().get("field"), resp.text

    fuzz()


def test_fuzzed_configs_stay_within_the_service_bounds(api_schema: schemathesis.BaseSchema) -> None:
    """Positive fuzzing of the context config: every generated option is within the bounds the
    schema publishes, and the server either builds the context or refuses with a 422 naming a config
    field (MMR with more than 128 candidates), never a 5xx."""
    operation = api_schema.find_operation_by_label("POST /v1/namespaces/{ns}/sessions/{session}/context")
    assert operation is not None

    @given(case=operation.as_strategy())
    @settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True, database=None)
    def fuzz(case: schemathesis.Case) -> None:
        config = (case.body or {}).get("config") or {} if isinstance(case.body, dict) else {}
        assert config.get("candidates") is None or config["candidates"] <= 256
        resp = case.call(headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=60)
        assert resp.status_code < 500, resp.text
        if resp.status_code == 422 and resp.json().get("field", "").startswith("config."):
            assert resp.json()["field"] in {f"config.{k}" for k in config}

    fuzz()
