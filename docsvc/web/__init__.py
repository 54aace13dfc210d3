"""Pages for clerks and auditors: log in, find documents, read one and its history.

Pages call the same services as the API; forms carry a CSRF token (Flask-WTF) and the
session cookie is HttpOnly and SameSite. Texts are Vietnamese, English with ``?lang=en``.
"""

from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from docsvc.downloads import version_response
from docsvc.errors import DocsvcError, NotFoundError, PermissionDeniedError
from docsvc.security import Actor, can_read_history
from docsvc.services import documents as svc
from docsvc.services import identity
from docsvc.web.texts import TEXTS

web = Blueprint("web", __name__, template_folder="templates")


def _db():  # type: ignore[no-untyped-def]
    if "db" not in g:
        g.db = current_app.extensions["docsvc"].sessions()
    return g.db


def _lang() -> str:
    wanted = request.args.get("lang") or session.get("lang")
    if wanted in ("vi", "en"):
        session["lang"] = wanted
        return wanted
    return request.accept_languages.best_match(["vi", "en"], default="vi") or "vi"


@web.app_context_processor
def _texts() -> dict:
    lang = _lang() if request else "vi"
    return {"t": TEXTS[lang], "lang": lang, "me": g.get("actor")}


@web.before_request
def _load_user() -> Response | None:
    user_id = session.get("user_id")
    g.actor = None
    if user_id is not None:
        from docsvc.models import User

        user = _db().get(User, user_id)
        if user is not None and user.active:
            g.actor = identity.actor_for_user(_db(), user)
    if g.actor is None and request.endpoint not in ("web.login", "web.static"):
        return redirect(url_for("web.login", next=request.full_path))
    return None


def _actor() -> Actor:
    return g.actor


@web.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    """Show the login form; on POST check the password (5 failures lock the account 15 minutes)."""
    if request.method == "POST":
        try:
            user = identity.login(_db(), request.form.get("username", ""), request.form.get("password", ""))
        except DocsvcError as exc:
            flash(exc.message(_lang()), "error")
            return render_template("login.html"), 401
        session.clear()
        session["user_id"] = user.id
        session.permanent = True
        target = request.args.get("next", "")
        return redirect(target if target.startswith("/") and not target.startswith("//") else "/")
    return render_template("login.html")


@web.post("/logout")
def logout():  # type: ignore[no-untyped-def]
    """End the session."""
    session.clear()
    return redirect(url_for("web.login"))


@web.get("/")
def index():  # type: ignore[no-untyped-def]
    """List and search the documents the person may read."""
    query = svc.DocumentQuery(q=request.args.get("q") or None, after=request.args.get("after") or None,
                              limit=50)
    try:
        page, next_after = svc.list_documents(_db(), query, _actor())
    except DocsvcError as exc:
        flash(exc.message(_lang()), "error")
        page, next_after = [], None
    return render_template("index.html", documents=page, next_after=next_after, q=query.q or "")


@web.get("/documents/<document_id>")
def document(document_id: str):  # type: ignore[no-untyped-def]
    """Show one document: metadata, versions, history."""
    try:
        doc = svc.get_document(_db(), document_id, _actor())
    except NotFoundError:
        abort(404)
    history = svc.history(_db(), document_id=doc.id, actor=_actor()) \
        if can_read_history(_actor(), doc) else []
    return render_template("document.html", doc=doc, history=history)


@web.get("/documents/<document_id>/versions/<int:number>/content")
def version_content(document_id: str, number: int):  # type: ignore[no-untyped-def]
    """Download one version's PDF."""
    try:
        version, stream = svc.open_version(_db(), current_app.extensions["docsvc"].blobs,
                                           document_id=document_id, number=number, actor=_actor())
    except (NotFoundError, PermissionDeniedError):
        abort(404)
    return version_response(version, stream, document_id)
