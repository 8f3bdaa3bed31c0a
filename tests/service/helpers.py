"""Keys of the shared test server; the server itself is :class:`memory.service.process.ServerProcess`."""

from __future__ import annotations

from memory.service.process import ROOT, ServerProcess

ALPHA_KEY = "sk-test-alpha-0123456789"
BETA_KEY = "sk-test-beta-0123456789"
ADMIN_KEY = "sk-test-admin-0123456789"
KEYS = {"keys": {ALPHA_KEY: ["alpha", "alpha-*"], BETA_KEY: ["beta"], ADMIN_KEY: ["*"]}}

__all__ = ["ADMIN_KEY", "ALPHA_KEY", "BETA_KEY", "KEYS", "ROOT", "ServerProcess"]
