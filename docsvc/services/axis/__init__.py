"""The upstream national axis (docsvc as a client of the SDK protocol): configuration,
routing, directory synchronisation, sending through the outbox, receiving, and the worker pass."""
