"""Request ids, structured JSON logs, Prometheus metrics and the request-size cap.

Logs carry the request id, method, route template (never the raw path or query), status
and duration: no PII, no tokens, no bodies. Metrics use a registry per app so tests can
build many apps in one process.
"""

from __future__ import annotations

import json
import logging
import secrets
import time
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.errors import problem

log = logging.getLogger("pprl.hub.access")


class JsonFormatter(logging.Formatter):
    """One JSON object per log line."""

    _FIELDS = ("request_id", "method", "route", "status", "duration_ms", "event")

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in self._FIELDS:
            if hasattr(record, name):
                doc[name] = getattr(record, name)
        if record.exc_info and record.exc_info[0] is not None:
            doc["error"] = record.exc_info[0].__name__
        return json.dumps(doc)


def configure_logging(level: int = logging.INFO) -> None:
    """Route `pprl.*` loggers to stderr as JSON (idempotent)."""
    logger = logging.getLogger("pprl")
    if not any(isinstance(h.formatter, JsonFormatter) for h in logger.handlers):
        handler = logging.StreamHandler()
        handler.setFormatter(JsonFormatter())
        logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False


class Metrics:
    """The hub's Prometheus metrics."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "pprl_http_requests_total",
            "HTTP requests",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "pprl_http_request_seconds", "HTTP request latency", ["route"], registry=self.registry
        )
        self.records = Counter(
            "pprl_uploaded_records_total",
            "Records stored from uploads",
            ["kind"],
            registry=self.registry,
        )
        self.ledger_size = Gauge(
            "pprl_ledger_entries", "Consent ledger entries", registry=self.registry
        )
        self.sync_age = Gauge(
            "pprl_agency_sync_age_seconds",
            "Seconds since the agency's node last finished a sync (-1: never)",
            ["agency"],
            registry=self.registry,
        )
        self.sync_stale = Gauge(
            "pprl_agency_sync_stale",
            "1 when the agency's node has not synced for longer than expected",
            ["agency"],
            registry=self.registry,
        )


class RequestMiddleware:
    """Assigns a request id, caps the body size, logs and measures every request."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics, max_body: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        supplied = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = (
            supplied if 0 < len(supplied) <= 64 and supplied.isprintable() else secrets.token_hex(8)
        )
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        responded = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "http.response.start":
                status, responded = message["status"], True
                message.setdefault("headers", []).append((b"x-request-id", request_id.encode()))
            await send(message)

        length = headers.get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_body):
            response = problem(413, f"request body over {self.max_body} bytes")
            await response(scope, receive, send_with_id)
            self._record(scope, request_id, status, started)
            return
        received = 0

        async def capped_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise _BodyTooLarge
            return message

        try:
            await self.app(scope, capped_receive, send_with_id)
        except _BodyTooLarge:
            response = problem(413, f"request body over {self.max_body} bytes")
            await response(scope, receive, send_with_id)
        except Exception as exc:
            # Answered here, and not re-raised: an error escaping to the server would
            # make it drop the client's keep-alive connection.
            log.error("unexpected error", exc_info=exc, extra={"request_id": request_id})
            if not responded:
                await problem(500, None)(scope, receive, send_with_id)
        finally:
            self._record(scope, request_id, status, started)

    def _record(self, scope: Scope, request_id: str, status: int, started: float) -> None:
        route = getattr(scope.get("route"), "path", "unmatched")
        elapsed = time.perf_counter() - started
        self.metrics.requests.labels(scope["method"], route, str(status)).inc()
        self.metrics.latency.labels(route).observe(elapsed)
        log.info(
            "request",
            extra={
                "request_id": request_id,
                "method": scope["method"],
                "route": route,
                "status": status,
                "duration_ms": round(elapsed * 1000, 1),
            },
        )


class _BodyTooLarge(Exception):
    pass
