"""Fixtures of the exchange integration tests (defined in ``tests.support.worlds``)."""

from tests.support.worlds import agency_key, config, world  # noqa: F401 - fixtures
