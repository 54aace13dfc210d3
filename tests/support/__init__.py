"""Helpers shared by the test suites (imported, not collected)."""
