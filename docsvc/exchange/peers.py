"""HTTP to peer docsvc instances (push delivery): one POST of a stored package, through
``requests``. HTTP error statuses are answers, not exceptions; a peer that cannot be reached
raises ``PeerUnreachableError``. Redirects are not followed (a redirected POST loses its body).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import BinaryIO, Protocol

import requests

MAX_ANSWER_BYTES = 1024 * 1024
"""A peer's answer is a small JSON receipt or error; more than this is cut (and not JSON)."""


@dataclass(frozen=True)
class PeerResponse:
    """A peer's answer: status, headers and (at most ``MAX_ANSWER_BYTES`` of) body."""

    status: int
    headers: Mapping[str, str]
    body: bytes


class PeerUnreachableError(Exception):
    """The peer could not be reached or did not answer (connection refused, timeout …)."""


class Http(Protocol):
    """Sends one POST to a peer (``requests_http``; tests may script their own)."""

    def __call__(self, url: str, body: BinaryIO, headers: Mapping[str, str],
                 timeout: float) -> PeerResponse: ...


def requests_http(url: str, body: BinaryIO, headers: Mapping[str, str], timeout: float) -> PeerResponse:
    """POST ``body`` (streamed) to ``url``; return the answer whatever its status."""
    if not url.startswith(("http://", "https://")):
        raise PeerUnreachableError(f"not an http(s) URL: {url[:100]}")
    try:
        with requests.post(url, data=body, headers=dict(headers), timeout=timeout,
                           allow_redirects=False, stream=True) as response:
            answer = bytearray()
            for chunk in response.iter_content(64 * 1024):  # wraps urllib3's errors in requests'
                answer += chunk
                if len(answer) >= MAX_ANSWER_BYTES:
                    break
            return PeerResponse(response.status_code, dict(response.headers.items()),
                                bytes(answer[:MAX_ANSWER_BYTES]))
    except requests.RequestException as exc:
        raise PeerUnreachableError(f"{type(exc).__name__}: {exc}"[:300]) from exc
