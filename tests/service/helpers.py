"""A real ``turnmem serve`` in a subprocess on a free loopback port, started and stopped by tests."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.fakes import free_port

ROOT = Path(__file__).resolve().parents[2]
ALPHA_KEY = "sk-test-alpha-0123456789"
BETA_KEY = "sk-test-beta-0123456789"
ADMIN_KEY = "sk-test-admin-0123456789"
KEYS = {"keys": {ALPHA_KEY: ["alpha", "alpha-*"], BETA_KEY: ["beta"], ADMIN_KEY: ["*"]}}


class ServerProcess:
    """``python -m memory.cli serve`` on ``data``; ``start`` waits for /healthz."""

    def __init__(self, data: Path, *, keys: dict | None = None, index: str = "faiss") -> None:
        self.data = data
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.index = index
        self.keys_file: Path | None = None
        if keys is not None:
            self.keys_file = data.parent / f"{data.name}-keys.json"
            self.keys_file.write_text(json.dumps(keys))
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data.parent / f"{data.name}-server.log"

    def start(self, timeout: float = 180.0) -> ServerProcess:
        cmd = [sys.executable, "-m", "memory.cli", "serve", "--data", str(self.data), "--port", str(self.port)]
        cmd += ["--index", self.index, "--log-level", "warning"]
        if self.keys_file is not None:
            cmd += ["--keys", str(self.keys_file)]
        env = {**os.environ, "PYTHONPATH": str(ROOT), "TOKENIZERS_PARALLELISM": "false"}
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
