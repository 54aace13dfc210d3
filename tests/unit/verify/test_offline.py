"""With allow_fetching=False the verifier works from embedded and stored data only: no socket
is opened even though the test certificates name a CRL distribution point."""

from __future__ import annotations

import socket

import pytest

from docsvc.verify import Indication, validate_pdf


@pytest.fixture
def no_network(monkeypatch):
    attempts: list[object] = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network access during an offline validation")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)
    return attempts


@pytest.mark.parametrize("level", ["B-B", "B-T", "B-LT"])
def test_offline_validation_opens_no_socket(pki, trust, sample_pdf, no_network, level):
    signed = pki.sign(sample_pdf, level=level)  # signed before the network is refused
    no_network.clear()
    report = validate_pdf(signed, trust, allow_fetching=False)
    assert no_network == []
    assert report.verdict is Indication.TOTAL_PASSED
    revocation = report.signatures[0].revocation
    expected = ("good", "embedded") if level == "B-LT" else ("unknown", None)
    assert (revocation.status, revocation.origin) == expected
