"""Pages for clerks, signers and auditors: log in, find, upload, register, sign, send and follow
documents, report their handling, and verify signatures.

Pages call the same services as the API; every form carries a CSRF token (Flask-WTF) and the
session cookie is HttpOnly and SameSite. Texts are Vietnamese, English with ``?lang=en``.
Errors are the services' ``DocsvcError`` messages in the reader's language: flashed over the
page the person was on (with what they typed), or an error page for 403/404.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import (
    Blueprint,
    Response,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_wtf.csrf import CSRFError
from sqlalchemy.orm import Session
from werkzeug.exceptions import NotFound, RequestEntityTooLarge

from docsvc.errors import DocsvcError, PayloadTooLargeError
from docsvc.security import Actor, can_create_in
from docsvc.services import identity
from docsvc.web.texts import TEXTS

log = logging.getLogger(__name__)
web = Blueprint("web", __name__, template_folder="templates", static_folder="static",
                static_url_path="/web-static")


def db() -> Session:
    """Return the unit of work of this request (the same one the API would use)."""
    if "db" not in g:
        g.db = current_app.extensions["docsvc"].sessions()
    return g.db


def runtime():  # type: ignore[no-untyped-def]
    """Return the process's adapters (see ``docsvc.app.Runtime``)."""
    return current_app.extensions["docsvc"]


def lang() -> str:
    """Return ``vi`` or ``en``: ``?lang=`` (remembered in the session), then Accept-Language."""
    wanted = request.args.get("lang") or session.get("lang")
    if wanted in ("vi", "en"):
        session["lang"] = wanted
        return wanted
    return request.accept_languages.best_match(["vi", "en"], default="vi") or "vi"


def texts() -> dict[str, Any]:
    """Return the words of the reader's language."""
    return TEXTS[lang()]


def actor() -> Actor:
    """Return the person logged in."""
    return g.actor


def pick(message: str, language: str) -> str:
    """Return one language of a service's bilingual ``"vi / en"`` text (``"một trong / one of:
    A, B"`` keeps the list); other texts are returned as they are."""
    if message.count(" / ") != 1:
        return message
    vi, en = message.split(" / ")
    if language == "en":
        return en
    head, colon, tail = en.partition(": ")
    return f"{vi}: {tail}" if colon and not vi.endswith(":") else vi


def error_lines(error: DocsvcError, language: str) -> list[str]:
    """Return what the error's details tell a person: bad fields, reasons, refused values."""
    words, details, lines = TEXTS[language], error.details, []
    for problem in details.get("fields") or ():
        name = str(problem.get("field", ""))
        label = words.get(name.split("[")[0].split(".")[0])
        label = (label if name.isidentifier() else f"{label} ({name})") \
            if isinstance(label, str) else name
        lines.append(f"{label}: {pick(str(problem.get('message', '')), language)}")
    for reason in details.get("reasons") or ():
        lines.append(words["reasons"].get(reason, reason))
    for problem in details.get("problems") or ():  # a refused replacement, per replaced document
        if isinstance(problem, dict):
            what = str(problem.get("problem", ""))
            lines.append(f"{problem.get('document_id')}: {words['problems'].get(what, what)}")
    states = details.get("states")  # a refused take-back request, per recipient
    if isinstance(states, dict):
        lines.extend(f"{organ_id}: {words['takeback_states'].get(state, state)}"
                     for organ_id, state in states.items())
    for key in ("unknown", "invalid"):
        if isinstance(details.get(key), list):
            lines.append(", ".join(map(str, details[key])))
    if isinstance(details.get("not_recipients"), list):
        lines.append(f"{words['not_recipients']}: {', '.join(map(str, details['not_recipients']))}")
    return lines


def flash_error(error: DocsvcError) -> None:
    """Flash the error's message, and its details, in the reader's language."""
    language = lang()
    lines = error_lines(error, language)
    flash(error.message(language) + (" " + "; ".join(lines) if lines else ""), "error")


def flash_warnings(warnings: Any) -> None:
    """Flash the services' warnings (duplicate number, lowered level …) in the reader's language."""
    for warning in warnings:
        flash(pick(warning.message, lang()), "warning")


@web.app_context_processor
def _page_globals() -> dict:
    language = lang() if request else "vi"
    me = g.get("actor")
    return {"t": TEXTS[language], "lang": language, "me": me,
            "may_upload": bool(me and me.organ_id and can_create_in(me, me.organ_id))}


@web.before_request
def _load_user() -> Response | None:
    user_id = session.get("user_id")
    g.actor = None
    if user_id is not None:
        from docsvc.models import User

        user = db().get(User, user_id)
        if user is not None and user.active:
            g.actor = identity.actor_for_user(db(), user)
    if g.actor is None and request.endpoint not in ("web.login", "web.static"):
        return redirect(url_for("web.login", next=request.full_path))
    return None


def error_page(message: str, status: int, lines: list[str] | None = None):  # type: ignore[no-untyped-def]
    """Render the page that says why nothing was done."""
    return render_template("error.html", message=message, lines=lines or []), status


@web.errorhandler(DocsvcError)
def _docsvc_error(error: DocsvcError):  # type: ignore[no-untyped-def]
    if error.status >= 500:
        log.error("%s: %s %s", error.code, error.text_en, error.details)
    return error_page(error.message(lang()), error.status, error_lines(error, lang()))


@web.errorhandler(CSRFError)
def _csrf_error(_error: CSRFError):  # type: ignore[no-untyped-def]
    return error_page(texts()["csrf"], 400)


@web.errorhandler(RequestEntityTooLarge)
def _too_large(_error: RequestEntityTooLarge):  # type: ignore[no-untyped-def]
    return error_page(PayloadTooLargeError().message(lang()), 413)


@web.errorhandler(NotFound)
def _not_found(_error: NotFound):  # type: ignore[no-untyped-def]
    return error_page(texts()["not_found"], 404)


@web.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    """Show the login form; on POST check the password (5 failures lock the account 15 minutes)."""
    if request.method == "POST":
        try:
            user = identity.login(db(), request.form.get("username", ""), request.form.get("password", ""))
        except DocsvcError as exc:
            flash(exc.message(lang()), "error")
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


from docsvc.web import actions, documents, verification  # noqa: E402,F401  (routes register themselves)
