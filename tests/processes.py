"""Processes the tests start: the `pprl` command, and servers with a free port, a
readiness wait with a deadline, and a stop that always waits for the process.

- Ports come from the kernel (`free_port`), never from the README or a constant, so a hub
  a developer left running on 8765 never answers a test.
- Every wait has a deadline, scaled by `PPRL_TEST_TIME_SCALE` (default 1; e.g. 3 on a
  loaded or slow machine), and gives up early when the process it waits on has exited,
  showing the tail of its log.
- A stopped process is always waited for (SIGTERM, then SIGKILL after a grace period), so
  no zombie or unclosed-pipe ResourceWarning reaches a later test.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, Literal

import httpx
import uvicorn

PPRL = str(Path(sys.executable).parent / "pprl")
TIME_SCALE = float(os.environ.get("PPRL_TEST_TIME_SCALE") or "1")
START_SECONDS = 60.0  # a hub's start on a quiet 2-core machine takes 2-5 s


def seconds(base: float) -> float:
    """`base` seconds, scaled for this machine."""
    return base * TIME_SCALE


def deadline(base: float) -> float:
    """A `time.monotonic()` deadline `base` (scaled) seconds from now."""
    return time.monotonic() + seconds(base)


def clean_env() -> dict[str, str]:
    """This process's environment without any `PPRL_` setting: for a child process that
    must see only the settings a test gives it."""
    return {k: v for k, v in os.environ.items() if not k.startswith("PPRL_")}


def run_pprl(cwd: Path, *args: str, env: dict[str, str] | None = None, stderr: bool = True) -> str:
    """Run `pprl ARGS` with only the `PPRL_` settings in `env`; fail the test unless it
    succeeds. Returns its output (standard error too unless `stderr=False`)."""
    result = subprocess.run(  # noqa: S603  (our own entry point)
        [PPRL, *args],
        cwd=cwd,
        env={**clean_env(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=seconds(300),
        check=False,
    )
    assert result.returncode == 0, f"pprl {' '.join(args)}\n{result.stdout}\n{result.stderr}"
    return result.stdout + (result.stderr if stderr else "")


def free_port() -> int:
    """A port nothing listens on now (the kernel's choice)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _tail(log: Path | None) -> str:
    if log is None or not log.exists():
        return ""
    return log.read_bytes()[-2000:].decode("utf-8", "replace")


def wait_ready(
    url: str,
    *,
    process: subprocess.Popen[Any] | None = None,
    log: Path | None = None,
    timeout: float = START_SECONDS,
) -> httpx.Response:
    """Poll `url` until it answers 200; fail at the deadline or as soon as `process` exits."""
    end = deadline(timeout)
    while True:
        with suppress(httpx.TransportError):
            response = httpx.get(url, timeout=1)
            if response.status_code == 200:
                return response
        if process is not None and process.poll() is not None:
            raise AssertionError(f"{url}: the server exited ({process.returncode}): {_tail(log)}")
        if time.monotonic() > end:
            raise AssertionError(f"{url} was not ready in {seconds(timeout):.0f} s: {_tail(log)}")
        time.sleep(0.05)


def stop(process: subprocess.Popen[Any], *, kill: bool = False, grace: float = 20) -> None:
    """Stop `process` (and its process group when it leads one) and wait for it.

    `kill=True` sends SIGKILL at once: no shutdown, no clean-up, as a crash would."""
    if process.poll() is None:
        first = signal.SIGKILL if kill else signal.SIGTERM
        _signal(process, first)
        try:
            process.wait(timeout=seconds(grace))
        except subprocess.TimeoutExpired:
            _signal(process, signal.SIGKILL)
    process.wait()


def _signal(process: subprocess.Popen[Any], sig: signal.Signals) -> None:
    with suppress(ProcessLookupError):
        if os.getpgid(process.pid) == process.pid:
            os.killpg(process.pid, sig)
        else:
            process.send_signal(sig)


def start(
    args: Sequence[str], *, env: dict[str, str], cwd: Path | None = None, log: Path
) -> subprocess.Popen[bytes]:
    """Start `args` in a process group of its own, its output appended to `log`."""
    with log.open("ab") as output:
        return subprocess.Popen(  # noqa: S603  (the tests' own commands)
            list(args), cwd=cwd, env=env, stdout=output, stderr=output, start_new_session=True
        )


def start_ready(
    args: Sequence[str], *, env: dict[str, str], ready: str, cwd: Path | None = None, log: Path
) -> subprocess.Popen[bytes]:
    """`start`, then wait until URL `ready` answers 200; a server that never does is
    stopped (and waited for) before the failure is raised."""
    process = start(args, env=env, cwd=cwd, log=log)
    try:
        wait_ready(ready, process=process, log=log)
    except AssertionError:
        stop(process)
        raise
    return process


def start_hub(cwd: Path, settings: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """`pprl hub serve --port PORT` in `cwd` with only the `PPRL_` variables in `settings`;
    returns once it answers /readyz (stop it with `stop`)."""
    return start_ready(
        [PPRL, "hub", "serve", "--port", str(port)],
        cwd=cwd,
        env={**clean_env(), **settings},
        log=log,
        ready=f"http://127.0.0.1:{port}/readyz",
    )


@contextmanager
def running(
    args: Sequence[str],
    *,
    env: dict[str, str],
    ready: str,
    cwd: Path | None = None,
    log: Path,
) -> Iterator[subprocess.Popen[bytes]]:
    """A server process, ready at URL `ready`, stopped and waited for when the block ends."""
    process = start_ready(args, env=env, ready=ready, cwd=cwd, log=log)
    try:
        yield process
    finally:
        stop(process)


@contextmanager
def serve_in_thread(
    app: Any, *, lifespan: Literal["auto", "on", "off"] = "on", port: int | None = None
) -> Iterator[str]:
    """Run the ASGI `app` with uvicorn in a thread of this process, on a free port (or
    `port`, one the test took from `free_port` to name in advance), until the block ends;
    yields its base URL."""
    port = port or free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", lifespan=lifespan)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    end = deadline(START_SECONDS)
    while not server.started:
        if time.monotonic() > end or not thread.is_alive():
            server.should_exit = True
            thread.join(timeout=seconds(20))
            raise AssertionError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=seconds(20))


def pprl(
    *args: str, cwd: Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run `pprl ARGS` as a user would, whatever its exit status (`one_error` checks a
    failure)."""
    return subprocess.run(  # noqa: S603  (our own entry point)
        [PPRL, *args],
        cwd=cwd,
        env={**clean_env(), "COLUMNS": "200", **(env or {})},
        capture_output=True,
        text=True,
        timeout=seconds(120),
        check=False,
    )


def one_error(result: subprocess.CompletedProcess[str], status: int, *words: str) -> str:
    """The run failed with `status` and said why in one `error:` line (no traceback)."""
    assert result.returncode == status, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 1, result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]
