from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from memory.client import Client
from tests.service.helpers import ADMIN_KEY, ALPHA_KEY, BETA_KEY, KEYS, ServerProcess
from tests.service.inspector_seed import seed_keyed
from tests.tiers import starts


@pytest.fixture(scope="session")
@starts("server", "process")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One real server with API keys, shared by the service tests (each uses its own sessions)."""
    proc = ServerProcess(tmp_path_factory.mktemp("service") / "data", keys=KEYS)
    with proc:
        yield proc


@pytest.fixture(scope="session")
def seeded(server: ServerProcess) -> ServerProcess:
    """The shared server with the inspector's demo session (tests/service/inspector_seed.py) stored."""
    seed_keyed(server.url, ALPHA_KEY, BETA_KEY)
    return server


@pytest.fixture
def session_name() -> str:
    return f"s-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def alpha(server: ServerProcess) -> Iterator[Client]:
    with Client(server.url, api_key=ALPHA_KEY) as client:
        yield client


@pytest.fixture
def admin(server: ServerProcess) -> Iterator[Client]:
    with Client(server.url, api_key=ADMIN_KEY) as client:
        yield client
