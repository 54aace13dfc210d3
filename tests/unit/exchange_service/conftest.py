"""Fixtures of the exchange services (defined in ``tests.support.worlds``): the demo directory,
people of the province and of a hosted commune, an agency key (self-signed, test only)."""

from tests.support.worlds import agency_key, config, world  # noqa: F401 - fixtures
