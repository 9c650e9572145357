"""The node's state holds names, birth dates, case numbers and password hashes: its folder
is 0700 and its databases 0600 from creation, and an older install is repaired, loudly."""

from __future__ import annotations

import logging
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from linkage_node.job import STATE_FILE
from linkage_node.state import NodeState


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The usual umask (022), under which plain creation is world-readable."""
    before = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(before)


@pytest.mark.usefixtures("open_umask")
def test_a_new_state_is_private_from_the_start(tmp_path: Path) -> None:
    directory = tmp_path / "pprl-node" / "DCFS"
    state = NodeState(directory / STATE_FILE, "DCFS")
    state.close()
    assert mode(directory) == 0o700
    assert mode(directory / STATE_FILE) == 0o600


@pytest.mark.usefixtures("open_umask")
def test_an_old_world_readable_state_is_repaired_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    directory = tmp_path / "DCFS"
    NodeState(directory / STATE_FILE, "DCFS").close()
    directory.chmod(0o755)
    (directory / STATE_FILE).chmod(0o644)  # as installs made before this fix were
    with caplog.at_level(logging.WARNING, logger="pprl.node"):
        NodeState(directory / STATE_FILE, "DCFS").close()
    assert mode(directory) == 0o700
    assert mode(directory / STATE_FILE) == 0o600
    warned = " ".join(r.getMessage() for r in caplog.records)
    assert "readable by other accounts" in warned
    assert str(directory / STATE_FILE) in warned


@pytest.mark.e2e
def test_the_repair_is_shown_on_a_terminal_without_any_logging_set_up(tmp_path: Path) -> None:
    directory = tmp_path / "state"
    NodeState(directory / STATE_FILE, "DCFS").close()
    (directory / STATE_FILE).chmod(0o644)
    opened = (
        "import sys; from pathlib import Path; from linkage_node.state import NodeState; "
        "NodeState(Path(sys.argv[1]), 'DCFS').close()"
    )
    result = subprocess.run(  # noqa: S603  (this interpreter)
        [sys.executable, "-c", opened, str(directory / STATE_FILE)],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "readable by other accounts" in result.stderr
    assert mode(directory / STATE_FILE) == 0o600
