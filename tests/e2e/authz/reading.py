"""Authorization table of the reading endpoints (extraction, search, jobs, searchable renditions),
merged into tests/e2e/test_authorization_matrix.py (same format as TABLE there).

The matrix calls without a body: a person may extract but sends no file (400). The own
commune's notice has no OCR rendition, so even its readers get 404 for it (the 200 case with a
real scan is in tests/e2e/test_ocr_jobs.py). ``<job_id>`` is a job of the own commune's notice.
"""


def rule(**callers):
    """Like the matrix's ``rule``: anonymous callers always get 401."""
    return {"anonymous": {"*": 401}, **callers}


_PEOPLE = ("clerk", "signer", "auditor", "auditor_sub", "admin")
READ_DOC = rule(
    clerk={"own": "ok", "*": 404}, signer={"own": "ok", "*": 404}, auditor={"own": "ok", "*": 404},
    auditor_sub={"own": "ok", "parent": "ok", "*": 404}, admin={"*": 404},
    system={"parent": "ok", "*": 404})

TABLE: dict = {
    ("POST", "/api/v1/extract"): rule(system={"*": 403}, **{c: {"*": 400} for c in _PEOPLE}),
    ("GET", "/api/v1/search"): rule(system={"*": 403}, **{c: {"*": "ok"} for c in _PEOPLE}),
    ("GET", "/api/v1/jobs/<job_id>"): READ_DOC,
    ("GET", "/api/v1/documents/<document_id>/jobs"): READ_DOC,
    ("POST", "/api/v1/documents/<document_id>/jobs"): rule(
        clerk={"own": "ok", "*": 404}, signer={"own": 403, "*": 404}, auditor={"own": 403, "*": 404},
        auditor_sub={"own": 403, "parent": 403, "*": 404}, admin={"*": 404},
        system={"parent": 403, "*": 404}),
    ("GET", "/api/v1/documents/<document_id>/versions/<int:number>/searchable"): rule(
        **{c: {"*": 404} for c in (*_PEOPLE, "system")}),
}
SUCCESS: dict = {("POST", "/api/v1/documents/<document_id>/jobs"): 202}


def job_of(runtime, document_id: str) -> str:
    """Return the id of a (queued) job of the document, created for the matrix."""
    from docsvc.models import Job

    with runtime.sessions() as session:
        job = Job(kind="index", document_id=document_id, version_number=1,
                  owner_organ_id="000.01.01.H48", message="queued")
        session.add(job)
        session.commit()
        return job.id
