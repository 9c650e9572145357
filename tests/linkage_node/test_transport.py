"""The node reaches the hub over TLS, except on this machine or a declared private network."""

from __future__ import annotations

import pytest

from linkage_node.transport import InsecureHubUrl, checked_hub_url


@pytest.mark.parametrize(
    "url",
    ["https://hub.example.gov/", "http://127.0.0.1:8765", "http://localhost:8765", "http://[::1]/"],
)
def test_tls_or_loopback_is_accepted(url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PPRL_NODE_ALLOW_PLAIN_HTTP", raising=False)
    assert checked_hub_url(url) == url.rstrip("/")


@pytest.mark.parametrize("url", ["http://hub.example.gov", "http://10.0.0.5:8765", "ftp://hub"])
def test_plain_http_to_another_machine_is_refused(
    url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PPRL_NODE_ALLOW_PLAIN_HTTP", raising=False)
    with pytest.raises(InsecureHubUrl) as info:
        checked_hub_url(url)
    assert info.value.exit_code == 2
    assert "Use https://" in info.value.advice()


def test_a_declared_private_network_may_carry_plain_http(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PPRL_NODE_ALLOW_PLAIN_HTTP", "1")
    assert checked_hub_url("http://hub:8765") == "http://hub:8765"
