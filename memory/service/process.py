"""``turnmem serve`` in a child process on a free loopback port: for tests, benchmarks and notebooks.

with ServerProcess(Path("data")) as server:
    client = Client(server.url)

with ServerProcess("postgresql://USER@HOST/DB", workdir=Path("logs")) as replica:  # one of several
    ...
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """``python -m eval.cli serve`` on ``data``; :meth:`start` returns once /healthz answers."""

    def __init__(
        self,
        data: Path | str,
        *,
        keys: dict[str, Any] | None = None,
        index: str | None = None,
        workdir: Path | None = None,
        extra_args: list[str] | None = None,
    ) -> None:
        """``data`` is a memory folder or a PostgreSQL DSN; the log (and keys file) go to ``workdir``,
        by default next to the folder (a DSN needs ``workdir``)."""
        self.data = data if isinstance(data, str) and "://" in data else Path(data)
        self.extra_args = list(extra_args or [])
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.index = index
        self.keys_file: Path | None = None
        if workdir is None:
            if not isinstance(self.data, Path):
                raise ValueError("workdir: give a folder for the server's log when data is a DSN")
            workdir, name = self.data.parent, self.data.name
        else:
            name = f"replica-{self.port}"
        workdir.mkdir(parents=True, exist_ok=True)
        if keys is not None:
            self.keys_file = workdir / f"{name}-keys.json"
            self.keys_file.write_text(json.dumps(keys))
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / f"{name}-server.log"

    def start(self, timeout: float = 180.0) -> ServerProcess:
        cmd = [sys.executable, "-m", "eval.cli", "serve", "--data", str(self.data), "--port", str(self.port)]
        if self.index is not None:
            cmd += ["--index", self.index]
        cmd += ["--log-level", "warning", *self.extra_args]
        if self.keys_file is not None:
            cmd += ["--keys", str(self.keys_file)]
        env = {**os.environ, "TOKENIZERS_PARALLELISM": "false"}
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p)
        env.pop("TURNMEM_API_KEYS", None)
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"turnmem serve exited with {self.proc.returncode}:\n{self.log.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1.0).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"turnmem serve did not answer within {timeout} s:\n{self.log.read_text()[-3000:]}")

    def kill(self) -> None:
        """SIGKILL: no shutdown hook runs, nothing is flushed or persisted."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM: uvicorn's graceful shutdown (the memory persists its index and closes)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=30)

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
