"""A real `pprl hub serve` process on loopback for the benchmarks: its keys, its
environment, start, wait until it answers, stop."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from consent import LogKey
from keys import AgencyIdentity, LocalIssuer, Role

ISSUER = "https://bench.idp.local"


@dataclass(frozen=True)
class BenchHub:
    """A started hub: where it answers and how to act as its operator."""

    base: str
    issuer: LocalIssuer
    log_file: Path

    def operator(self) -> dict[str, str]:
        """Headers of a hub operator."""
        token = self.issuer.issue(subject="op-0001", audience="pprl-hub", roles=[Role.HUB_OPERATOR])
        return {"Authorization": f"Bearer {token}"}

    def register(self, *identities: AgencyIdentity) -> None:
        """Register agencies, as an operator does."""
        headers = self.operator()
        for identity in identities:
            body = identity.public_keys().model_dump()
            httpx.post(f"{self.base}/v1/agencies", json=body, headers=headers).raise_for_status()


def hub_keys(tmp: Path) -> LogKey:
    """The hub's ledger signing key and data key under `tmp` (made once)."""
    if not (tmp / "log.key").exists():
        LogKey.generate("bench.hub/ledger").save(tmp / "log.key")
        (tmp / "data.key").write_bytes(os.urandom(32))
        (tmp / "data.key").chmod(0o600)
    return LogKey.load(tmp / "log.key")


def free_port() -> int:
    """A loopback port nobody listens on."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def bench_hub(tmp: Path, url: str, **settings: str) -> Iterator[BenchHub]:
    """Serve the (migrated) database at `url`; `settings` become `PPRL_<NAME>` variables."""
    hub_keys(tmp)
    issuer = LocalIssuer.create(ISSUER)
    issuer.save(tmp / "idp")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("PPRL_")},
        "PPRL_DATABASE_URL": url,
        "PPRL_LOG_KEY_FILE": str(tmp / "log.key"),
        "PPRL_DATA_KEY_FILE": str(tmp / "data.key"),
        "PPRL_OPERATOR_ISSUER": ISSUER,
        "PPRL_OPERATOR_JWKS_FILE": str(tmp / "idp" / "jwks.json"),
        **{f"PPRL_{name.upper()}": value for name, value in settings.items()},
    }
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log_file = tmp / "hub.log"
    with log_file.open("ab") as log:
        server = subprocess.Popen(  # noqa: S603  (our own entry point)
            [str(Path(sys.executable).parent / "pprl"), "hub", "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=log,
        )
    try:
        _wait(base, server, log_file)
        yield BenchHub(base=base, issuer=issuer, log_file=log_file)
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:  # stuck requests: do not leave it behind
            server.kill()
            server.wait()


def _wait(base: str, server: subprocess.Popen[bytes], log_file: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and server.poll() is None:
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError(f"the benchmark hub did not start:\n{log_file.read_text()[-3000:]}")
