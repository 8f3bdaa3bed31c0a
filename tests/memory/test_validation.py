"""The shared argument checks: one message per mistake, and the service's map from a refused
request field to the check ``Memory`` runs on it."""

from __future__ import annotations

from typing import Any

import pytest

from memory.errors import InvalidArgument
from memory.read.assemble import AssembleConfig
from memory.validation import apply_overrides, check_budget, check_query, request_error


@pytest.mark.parametrize("bad", [0, -1, "1000", 1.5, True, None, 1.0])
def test_budget_is_a_positive_int_and_nothing_else(bad: Any) -> None:
    with pytest.raises(InvalidArgument) as exc:
        check_budget(bad)
    assert str(exc.value) == f"budget: give a positive number of tokens (got {bad!r})" and exc.value.field == "budget"


def test_good_values_pass_through() -> None:
    assert check_budget(1) == 1 and check_query(None) is None and check_query("q") == "q"
    cfg = apply_overrides(AssembleConfig(), {"window_share": 0.5})
    assert cfg.window_share == 0.5 and apply_overrides(cfg, {}) is cfg


def test_query_message_says_what_none_means_only_where_none_is_allowed() -> None:
    with pytest.raises(
        InvalidArgument, match=r"^query: give a string, or None for the recent window only \(got int\)$"
    ):
        check_query(5)
    with pytest.raises(InvalidArgument, match=r"^query: give a string \(got NoneType\)$"):
        check_query(None, optional=False)


def test_overrides_name_the_unknown_key_and_the_bad_value() -> None:
    with pytest.raises(InvalidArgument, match="^windw_share: not an assemble option; use one of ") as exc:
        apply_overrides(AssembleConfig(), {"windw_share": 0.5})
    assert exc.value.field == "windw_share"
    with pytest.raises(InvalidArgument, match=r"^window_share: .* \(got 2\)$"):
        apply_overrides(AssembleConfig(), {"window_share": 2})


def test_request_error_maps_service_fields_to_memorys_checks() -> None:
    cfg = AssembleConfig()
    budget = request_error(("body", "budget"), "1000")
    assert (
        isinstance(budget, InvalidArgument) and str(budget) == "budget: give a positive number of tokens (got '1000')"
    )
    ns = request_error(("path", "ns"), " ")
    assert ns is not None and ns.field == "namespace" and str(ns) == "namespace: give a non-empty string (got ' ')"  # type: ignore[attr-defined]
    assert request_error(("body", "query"), None) is None  # a context's query may be None
    assert str(request_error(("body", "query"), None, search=True)) == "query: give a string (got NoneType)"
    override = request_error(("body", "config", "windw_share"), 0.5, config=cfg)
    assert override is not None and override.field == "config.windw_share"  # type: ignore[attr-defined]
    assert str(override).startswith("config.windw_share: not an assemble option")
    assert request_error(("body", "budget"), 20_000_000) is None  # the check passes: pydantic's limit stands
    assert request_error(("body", "timestamp"), [5]) is None  # no shared check for that field
    assert str(request_error(("body", "system"), 5)) == "system: give the system prompt as a string"
    assert request_error(("query", "wait"), -1) is None  # a query parameter no shared check covers
    big = request_error(("query", "since"), str(2**63))  # a query string carries the digits
    assert big is not None and big.field == "since" and "from 0 to 9007199254740991" in str(big)  # type: ignore[attr-defined]
