"""Authorization table of the signing endpoints, merged into tests/e2e/test_authorization_matrix.py.

Same format as TABLE there: (METHOD, rule) -> caller -> org -> status or "ok";
SUCCESS maps endpoints whose success status is not 200.

The matrix calls every endpoint without a body, so a caller who *may* sign or register a
profile gets 400 (the missing ``role``/``signer`` or profile fields): the body is read only
after the permission check, and a refused caller never learns what the body lacked. The
success cases (201) with real bodies and signer profiles are in tests/e2e/test_signing_api.py
(``test_who_may_sign_what``).
"""


def rule(**callers):
    """Like the matrix's ``rule``: anonymous callers always get 401."""
    return {"anonymous": {"*": 401}, **callers}


MAY_SIGN_ALLOWED = 400  # allowed, body missing

TABLE: dict = {
    ("POST", "/api/v1/documents/<document_id>/signatures"): rule(
        clerk={"own": MAY_SIGN_ALLOWED, "*": 404}, signer={"own": MAY_SIGN_ALLOWED, "*": 404},
        auditor={"own": 403, "*": 404}, auditor_sub={"own": 403, "parent": 403, "*": 404},
        admin={"*": 404}, system={"parent": 403, "*": 404}),
    ("GET", "/api/v1/signers"): rule(
        admin={"*": "ok"}, clerk={"*": 403}, signer={"*": 403}, auditor={"*": 403},
        auditor_sub={"*": 403}, system={"*": 403}),
    ("POST", "/api/v1/signers"): rule(
        admin={"*": MAY_SIGN_ALLOWED}, clerk={"*": 403}, signer={"*": 403}, auditor={"*": 403},
        auditor_sub={"*": 403}, system={"*": 403}),
}
SUCCESS: dict = {("POST", "/api/v1/documents/<document_id>/signatures"): 201,
                 ("POST", "/api/v1/signers"): 201}
