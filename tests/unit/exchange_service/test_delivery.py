"""Pure rules of push delivery: backoff with full jitter, Retry-After, sealed peer tokens, the
peer's submission URL. The worker against a peer on loopback is in
tests/integration/exchange/test_delivery_worker.py."""

from __future__ import annotations

import datetime as dt
import random

import pytest

from docsvc.errors import ConfigError
from docsvc.sealing import PEER_TOKEN, Sealer
from docsvc.services import delivery as push
from tests.support.worlds import PULLING

PEER = PULLING  # reached by push in these tests: it gets an endpoint
TOKEN = "peer-token-" + "x" * 30
T0 = dt.datetime(2026, 1, 5, 8, 0, tzinfo=dt.UTC)
POLICY = push.DeliveryPolicy(base_delay=dt.timedelta(seconds=10), max_delay=dt.timedelta(minutes=5),
                             max_age=dt.timedelta(hours=2))


class _Top(random.Random):
    """Jitter that always draws the ceiling: makes the schedule visible."""

    def uniform(self, a: float, b: float) -> float:
        return b


# -- pure rules ---------------------------------------------------------------------------------


def test_backoff_doubles_its_ceiling_up_to_the_cap_with_full_jitter():
    ceilings = [push.backoff_delay(n, POLICY, _Top()).total_seconds() for n in range(1, 8)]
    assert ceilings == [10, 20, 40, 80, 160, 300, 300]
    rng = random.Random(7)
    draws = [push.backoff_delay(3, POLICY, rng).total_seconds() for _ in range(200)]
    assert all(0 <= d <= 40 for d in draws)
    assert min(draws) < 10 and max(draws) > 30  # spread over the whole range, not around 40


@pytest.mark.parametrize(("header", "expected"), [
    ("120", dt.timedelta(seconds=120)),
    ("Mon, 05 Jan 2026 08:03:00 GMT", dt.timedelta(minutes=3)),
    ("Mon, 05 Jan 2026 07:00:00 GMT", dt.timedelta(0)),
    ("soon", None), ("", None), (None, None),
])
def test_retry_after_takes_seconds_or_an_http_date(header, expected):
    assert push.parse_retry_after(header, T0) == expected


def test_tokens_are_sealed_bound_to_their_organisation_and_need_the_key():
    sealed = Sealer(["k" * 40]).seal(TOKEN, purpose=PEER_TOKEN, subject=PEER)
    assert TOKEN not in sealed
    assert Sealer(["k" * 40]).open(sealed, purpose=PEER_TOKEN, subject=PEER) == TOKEN
    with pytest.raises(ConfigError):
        Sealer(["other" * 10]).open(sealed, purpose=PEER_TOKEN, subject=PEER)
    with pytest.raises(ConfigError):
        Sealer(["k" * 40]).open(sealed, purpose=PEER_TOKEN, subject="000.01.03.H48")


@pytest.mark.parametrize(("url", "expected"), [
    ("https://xa.example", "https://xa.example/api/v1/exchange/messages"),
    ("https://xa.example/docsvc/", "https://xa.example/docsvc/api/v1/exchange/messages"),
    ("http://h/api/v1/exchange/messages", "http://h/api/v1/exchange/messages"),
])
def test_submit_url_from_the_peer_base_url(url, expected):
    assert push.submit_url(url) == expected
