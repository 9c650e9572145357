"""How a node reaches the hub: over TLS. The node sends encodings, case managers'
contact details and plans, and signs consent with what it reads back; on a network,
plain HTTP would show all of it to anyone on the path and let them answer in the hub's
place. Plain HTTP is allowed to a hub on this machine (loopback), or where the operator
says a private network carries it (PPRL_NODE_ALLOW_PLAIN_HTTP=1, e.g. between containers
of one compose project behind a TLS proxy)."""

from __future__ import annotations

import ipaddress
import os
from urllib.parse import urlsplit

from linkage_node.errors import NodeError

_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


class InsecureHubUrl(NodeError):
    """The hub URL would send the node's traffic in the clear."""

    exit_code = 2

    def __init__(self, url: str) -> None:
        super().__init__(f"the hub URL {url} is plain http to another machine")

    def advice(self) -> str:
        return (
            f"{self}. Use https://; if a private network really carries it (containers of "
            "one project), set PPRL_NODE_ALLOW_PLAIN_HTTP=1."
        )


def checked_hub_url(url: str) -> str:
    """`url` without a trailing slash, if the node may use it (else InsecureHubUrl)."""
    parts = urlsplit(url)
    if parts.scheme == "https":
        return url.rstrip("/")
    if parts.scheme != "http" or not parts.hostname:
        raise InsecureHubUrl(url)
    if _is_loopback(parts.hostname) or os.environ.get("PPRL_NODE_ALLOW_PLAIN_HTTP") == "1":
        return url.rstrip("/")
    raise InsecureHubUrl(url)


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_loopback_host(host: str) -> bool:
    """Whether pages served on `host` stay on this machine."""
    return _is_loopback(host)
