"""Every /api/v1 endpoint x every kind of caller x own / parent / sibling organisation.

The table below is the specification. A new endpoint that is not in it makes
``test_every_endpoint_is_in_the_table`` fail, so nobody can add a route without deciding who
may call it.

Organisations: the province 000.00.00.H48 (parent), two communes under it — 000.01.01.H48
("own") and 000.01.02.H48 ("sibling"). Every object acted on belongs to the own commune: a
registered outgoing notice addressed to the province, its clerk, a token of its people. The
caller sits in the own, parent or sibling organisation. Administrators manage the people of
their organisation and of the organisations below it.
"""

from __future__ import annotations

import io
import json

import pytest
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from docsvc.samples import notice_pdf
from docsvc.security import OPERATOR
from docsvc.services.identity import add_system, ensure_organization
from tests.e2e.authz import exchange as authz_exchange
from tests.e2e.authz import reading as authz_reading
from tests.e2e.authz import signing as authz_signing
from tests.e2e.authz import verification as authz_verification
from tests.support.data import NOTICE_METADATA, make_user

PROVINCE, OWN, SIBLING = "000.00.00.H48", "000.01.01.H48", "000.01.02.H48"
ORGS = {"own": OWN, "parent": PROVINCE, "sibling": SIBLING}
CALLERS = ["anonymous", "clerk", "signer", "auditor", "auditor_sub", "admin", "system"]

# endpoint -> caller -> org -> expected status; "ok" means the endpoint's success status.
# Unlisted (caller, org) pairs default to the caller's entry under "*".
def rule(**callers):
    table = {"anonymous": {"*": 401}}
    table.update(callers)
    return table


NON_ADMINS_FORBIDDEN = {c: {"*": 403} for c in CALLERS if c not in ("anonymous", "admin")}
READ_DOC = rule(
    clerk={"own": "ok", "*": 404}, signer={"own": "ok", "*": 404}, auditor={"own": "ok", "*": 404},
    auditor_sub={"own": "ok", "parent": "ok", "*": 404}, admin={"*": 404},
    system={"parent": "ok", "*": 404},  # the notice is addressed to the province
)
TABLE = {
    ("GET", "/api/v1/health"): {"*": {"*": "ok"}},
    ("GET", "/api/v1/openapi.json"): {"*": {"*": "ok"}},
    ("POST", "/api/v1/documents"): rule(clerk={"own": "ok", "*": 403}, signer={"*": 403},
                                        auditor={"*": 403}, auditor_sub={"*": 403},
                                        admin={"*": 403}, system={"*": 403}),
    ("GET", "/api/v1/documents"): rule(clerk={"*": "ok"}, signer={"*": "ok"}, auditor={"*": "ok"},
                                       auditor_sub={"*": "ok"}, admin={"*": "ok"},
                                       system={"*": 403}),
    ("GET", "/api/v1/documents/<document_id>"): READ_DOC,
    ("GET", "/api/v1/documents/<document_id>/content"): READ_DOC,
    ("GET", "/api/v1/documents/<document_id>/versions/<int:number>/content"): READ_DOC,
    # the matrix's notice has no attachment: readers get 404 no-such-attachment, others 404 too
    ("GET", "/api/v1/documents/<document_id>/attachments/<int:number>/content"): rule(
        **{c: {"*": 404} for c in CALLERS if c != "anonymous"}),
    ("PATCH", "/api/v1/documents/<document_id>"): rule(
        clerk={"own": "ok", "*": 404}, signer={"own": 403, "*": 404}, auditor={"own": 403, "*": 404},
        auditor_sub={"own": 403, "parent": 403, "*": 404}, admin={"*": 404},
        system={"parent": 403, "*": 404}),
    ("POST", "/api/v1/documents/<document_id>/register"): rule(
        clerk={"own": "ok", "*": 404}, signer={"own": 403, "*": 404}, auditor={"own": 403, "*": 404},
        auditor_sub={"own": 403, "parent": 403, "*": 404}, admin={"*": 404},
        system={"parent": 403, "*": 404}),
    ("GET", "/api/v1/documents/<document_id>/history"): rule(
        clerk={"own": "ok", "*": 404}, signer={"own": 403, "*": 404}, auditor={"own": "ok", "*": 404},
        auditor_sub={"own": "ok", "parent": "ok", "*": 404}, admin={"*": 404},
        system={"parent": 403, "*": 404}),
    ("GET", "/api/v1/registers/<kind>"): rule(
        clerk={"own": "ok", "*": 403}, signer={"*": 403}, auditor={"own": "ok", "*": 403},
        auditor_sub={"own": "ok", "parent": "ok", "*": 403}, admin={"*": 403}, system={"*": 403}),
    ("GET", "/api/v1/users"): rule(admin={"*": "ok"}, **{c: {"*": 403} for c in CALLERS[1:-2]},
                                   system={"*": 403}),
    ("POST", "/api/v1/users"): rule(admin={"own": "ok", "parent": "ok", "sibling": 403},
                                    **NON_ADMINS_FORBIDDEN),
    # A user outside the admin's agencies answers like an unknown name (404): no enumeration.
    ("POST", "/api/v1/users/<username>/tokens"): rule(
        admin={"own": "ok", "parent": "ok", "*": 404}, **NON_ADMINS_FORBIDDEN),
    ("DELETE", "/api/v1/tokens/<int:token_id>"): rule(
        admin={"own": "ok", "parent": "ok", "*": 403}, **NON_ADMINS_FORBIDDEN),
}
SUCCESS = {("POST", "/api/v1/documents"): 201, ("POST", "/api/v1/users"): 201,
           ("POST", "/api/v1/users/<username>/tokens"): 201}


for _area in (authz_signing, authz_verification, authz_exchange, authz_reading):
    TABLE.update(_area.TABLE)
    SUCCESS.update(_area.SUCCESS)


def expected(method: str, rule_: str, caller: str, org: str) -> int:
    by_caller = TABLE[(method, rule_)]
    entry = by_caller.get(caller, by_caller.get("*"))
    value = entry.get(org, entry.get("*"))
    return SUCCESS.get((method, rule_), 200) if value == "ok" else value


@pytest.fixture
def world(runtime, app):
    """Organisations, one caller of each kind per organisation, and the own commune's notice."""
    with runtime.sessions() as session:
        ensure_organization(session, PROVINCE, "UBND tỉnh Quảng Ngãi")
        ensure_organization(session, OWN, "UBND xã Tịnh Ấn", parent_id=PROVINCE)
        ensure_organization(session, SIBLING, "UBND xã Tịnh Long", parent_id=PROVINCE)
        session.commit()
    tokens = {}
    for where, organ_id in ORGS.items():
        for caller in CALLERS[1:-1]:
            roles = ["auditor"] if caller == "auditor_sub" else [caller]
            tokens[(caller, where)] = make_user(runtime, f"{caller}-{where}", roles, organ_id,
                                                audits_subordinates=caller == "auditor_sub")
        with runtime.sessions() as session:
            _, tokens[("system", where)] = add_system(session, OPERATOR, organ_id=organ_id,
                                                      name=f"Hệ thống {where}")
    owner = app.test_client()
    owner.environ_base["HTTP_AUTHORIZATION"] = f"Bearer {tokens[('clerk', 'own')]}"
    meta = {**NOTICE_METADATA, "organ_id": OWN, "organ_name": "UBND xã Tịnh Ấn",
            "recipients": [{"organ_id": PROVINCE, "organ_name": "UBND tỉnh Quảng Ngãi"}]}
    doc = post(owner, meta).json
    assert owner.post(f"/api/v1/documents/{doc['id']}/register").status_code == 200
    return tokens, doc


def post(client, metadata, headers=None):
    boundary, body = encode_multipart(MultiDict({
        "metadata": json.dumps(metadata),
        "file": FileStorage(io.BytesIO(notice_pdf()), "tb.pdf", content_type="application/pdf")}))
    return client.post("/api/v1/documents", data=body, headers=headers or {},
                       content_type=f"multipart/form-data; boundary={boundary}")


def token_id_of(runtime, token):
    from sqlalchemy import select

    from docsvc.models import ApiToken
    from docsvc.security import token_digest

    with runtime.sessions() as session:
        return session.execute(select(ApiToken.id).where(
            ApiToken.token_sha256 == token_digest(token))).scalar_one()


def call(client, runtime, method, rule_, doc, headers, serial):
    """Call one endpoint on the own commune's objects."""
    path = (rule_.replace("<document_id>", doc["id"]).replace("<int:number>", "1")
            .replace("<kind>", "outgoing").replace("<username>", "clerk-own")
            .replace("<int:signature>", "1"))
    if "<job_id>" in path:
        path = path.replace("<job_id>", authz_reading.job_of(runtime, doc["id"]))
    if "<int:token_id>" in path:
        victim = make_user(runtime, f"victim-{serial}", ["clerk"], OWN)
        path = path.replace("<int:token_id>", str(token_id_of(runtime, victim)))
    if (method, rule_) == ("POST", "/api/v1/documents"):
        return post(client, {**NOTICE_METADATA, "organ_id": OWN, "owner_organ_id": OWN}, headers)
    if (method, rule_) == ("POST", "/api/v1/users"):
        return client.post(path, json={"username": f"new-{serial}", "roles": ["clerk"],
                                       "organ_id": OWN}, headers=headers)
    if method == "PATCH":
        return client.patch(path, json={"description": f"Đính chính {serial}"}, headers=headers)
    if method == "GET" and "registers" in path:
        return client.get(path, query_string={"organ_id": OWN}, headers=headers)
    return client.open(path, method=method, headers=headers)


def test_every_endpoint_is_in_the_table(app):
    routes = {(method, r.rule) for r in app.url_map.iter_rules() if r.rule.startswith("/api/v1/")
              for method in r.methods - {"HEAD", "OPTIONS"}}
    assert routes == set(TABLE), "decide who may call the new endpoint, then add it to TABLE"


@pytest.mark.parametrize("endpoint", sorted(TABLE), ids=lambda e: f"{e[0]} {e[1]}")
def test_matrix(endpoint, world, app, runtime):
    tokens, doc = world
    method, rule_ = endpoint
    wrong = []
    client = app.test_client()
    for caller in CALLERS:
        for org in ORGS:
            headers = {} if caller == "anonymous" else {
                "Authorization": f"Bearer {tokens[(caller, org)]}"}
            response = call(client, runtime, method, rule_, doc, headers, f"{caller}-{org}")
            response.close()  # streamed downloads must finish before the next request
            want = expected(method, rule_, caller, org)
            if response.status_code != want:
                wrong.append(f"{caller}@{org}: got {response.status_code}, want {want}")
    assert not wrong, "\n".join(wrong)
