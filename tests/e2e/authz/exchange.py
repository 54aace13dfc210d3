"""Authorization table of the exchange endpoints, merged into tests/e2e/test_authorization_matrix.py.

Same format as TABLE there: (METHOD, rule) -> caller -> org -> status or "ok";
SUCCESS maps endpoints whose success status is not 200.

The matrix calls every endpoint without a body on the own commune's registered (unsigned)
notice, so where authorization passes the use case answers 400 (no ``to`` / ``code`` / package)
rather than its success status: the 400 is the proof that the caller got past the policy
(``update`` asks for its reason before looking at whether the notice was sent).
Placeholders the matrix does not fill (``<message_id>``) name no message: systems get 404.
"""


def _rule(**callers):
    table = {"anonymous": {"*": 401}}
    table.update(callers)
    return table


PEOPLE = ("clerk", "signer", "auditor", "auditor_sub", "admin")
_CLERK_WRITE = _rule(
    clerk={"own": 400, "*": 404}, signer={"own": 403, "*": 404}, auditor={"own": 403, "*": 404},
    auditor_sub={"own": 403, "parent": 403, "*": 404}, admin={"*": 404},
    system={"parent": 403, "*": 404},  # the notice is addressed to the province: readable, not writable
)
_READ_EXCHANGE = _rule(
    clerk={"own": "ok", "*": 404}, signer={"own": "ok", "*": 404}, auditor={"own": "ok", "*": 404},
    auditor_sub={"own": "ok", "parent": "ok", "*": 404}, admin={"*": 404},
    system={"parent": 403, "*": 404},  # linked systems follow the exchange through their inbox
)
_SYSTEMS_ONLY = {p: {"*": 403} for p in PEOPLE}

TABLE: dict = {
    ("GET", "/api/v1/directory"): _rule(**{c: {"*": "ok"} for c in (*PEOPLE, "system")}),
    ("POST", "/api/v1/documents/<document_id>/send"): _CLERK_WRITE,
    ("POST", "/api/v1/documents/<document_id>/update"): _CLERK_WRITE,
    ("POST", "/api/v1/documents/<document_id>/status"): _CLERK_WRITE,
    ("POST", "/api/v1/documents/<document_id>/revoke"): _CLERK_WRITE,
    ("POST", "/api/v1/documents/<document_id>/takeback"): _CLERK_WRITE,
    ("GET", "/api/v1/documents/<document_id>/statuses"): _READ_EXCHANGE,
    ("GET", "/api/v1/documents/<document_id>/trace"): _READ_EXCHANGE,
    ("GET", "/api/v1/exchange/inbox"): _rule(system={"*": "ok"}, **_SYSTEMS_ONLY),
    ("GET", "/api/v1/exchange/messages/<message_id>"): _rule(system={"*": 404}, **_SYSTEMS_ONLY),
    ("POST", "/api/v1/exchange/messages/<message_id>/ack"): _rule(system={"*": 404}, **_SYSTEMS_ONLY),
    ("POST", "/api/v1/exchange/messages"): _rule(system={"*": 400}, **_SYSTEMS_ONLY),
}
SUCCESS: dict = {
    ("POST", "/api/v1/documents/<document_id>/send"): 201,
    ("POST", "/api/v1/documents/<document_id>/update"): 201,
    ("POST", "/api/v1/documents/<document_id>/status"): 201,
    ("POST", "/api/v1/documents/<document_id>/revoke"): 201,
    ("POST", "/api/v1/documents/<document_id>/takeback"): 201,
    ("POST", "/api/v1/exchange/messages"): 201,
}
