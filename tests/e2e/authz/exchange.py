"""Authorization table of the exchange endpoints, merged into tests/e2e/test_authorization_matrix.py.

Same format as TABLE there: (METHOD, rule) -> caller -> org -> status or "ok";
SUCCESS maps endpoints whose success status is not 200.
"""

TABLE: dict = {}
SUCCESS: dict = {}
