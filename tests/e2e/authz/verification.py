"""Authorization table of the verification endpoints, merged into tests/e2e/test_authorization_matrix.py.

Same format as TABLE there: (METHOD, rule) -> caller -> org -> status or "ok";
SUCCESS maps endpoints whose success status is not 200.

The matrix calls every endpoint without a body and on version 1 of the own commune's notice,
which is unsigned. So a caller who *may* verify a file gets 400 (no ``file`` part: the body is
read only after the permission check), and a reader asking for the signed revision of
signature 1 gets 422 (there is no signature). The 200 cases with real signed PDFs are in
tests/e2e/test_verification_api.py.
"""


def rule(**callers):
    """Like the matrix's ``rule``: anonymous callers always get 401."""
    return {"anonymous": {"*": 401}, **callers}


MAY_VERIFY_NO_FILE = 400
NO_SUCH_SIGNATURE = 422
_PEOPLE = ("clerk", "signer", "auditor", "auditor_sub", "admin")

TABLE: dict = {
    # any person, of any organisation; linked systems are refused
    ("POST", "/api/v1/verify"): rule(system={"*": 403},
                                     **{c: {"*": MAY_VERIFY_NO_FILE} for c in _PEOPLE}),
    # readers of the document (same as reading its content)
    ("GET", "/api/v1/documents/<document_id>/versions/<int:number>/verification"): rule(
        clerk={"own": "ok", "*": 404}, signer={"own": "ok", "*": 404},
        auditor={"own": "ok", "*": 404}, auditor_sub={"own": "ok", "parent": "ok", "*": 404},
        admin={"*": 404}, system={"parent": "ok", "*": 404}),
    ("GET", "/api/v1/documents/<document_id>/versions/<int:number>/signatures/<int:signature>"
            "/signed-revision"): rule(
        clerk={"own": NO_SUCH_SIGNATURE, "*": 404}, signer={"own": NO_SUCH_SIGNATURE, "*": 404},
        auditor={"own": NO_SUCH_SIGNATURE, "*": 404},
        auditor_sub={"own": NO_SUCH_SIGNATURE, "parent": NO_SUCH_SIGNATURE, "*": 404},
        admin={"*": 404}, system={"parent": NO_SUCH_SIGNATURE, "*": 404}),
}
SUCCESS: dict = {}
