"""The node server's logs: one JSON object per line on stderr (python-json-logger), for
whatever collects them. Records carry events and ids, never passwords or client data."""

from __future__ import annotations

import logging
import sys

from pythonjsonlogger.json import JsonFormatter


def configure_logging(level: int = logging.INFO) -> None:
    """Send the node's `pprl.*` loggers to stderr as JSON lines."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(
            "{asctime}{levelname}{name}{message}",
            style="{",
            rename_fields={"asctime": "ts", "levelname": "level", "name": "logger"},
        )
    )
    logger = logging.getLogger("pprl")
    logger.handlers[:] = [handler]
    logger.setLevel(level)
    logger.propagate = False
