"""File names that come from outside (multipart uploads, received edXML attachments) made safe
once, where they enter: no control characters, no folders, no leading dots, NFC, bounded.

Stored names are shown in pages, sent back in ``Content-Disposition`` and in outgoing edXML
``AttachmentName``; a NUL or ``../`` in them broke downloads or reached the peers.
"""

from __future__ import annotations

import re
import unicodedata

MAX_LENGTH = 200
_UNSAFE = re.compile(r"[\x00-\x1f\x7f\u0080-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def safe_filename(name: str | None, default: str = "document.pdf") -> str:
    """Return the last path part of ``name`` without control or bidi characters, leading dots
    or surrounding spaces, at most 200 characters (extension kept); ``default`` when nothing
    is left."""
    if not name:
        return default
    text = unicodedata.normalize("NFC", str(name))
    text = _UNSAFE.sub("", text)
    text = re.split(r"[/\\]", text)[-1]
    text = " ".join(text.split()).lstrip(". ").rstrip(" .")
    if text in ("", ".", ".."):
        return default
    if len(text) > MAX_LENGTH:
        stem, dot, extension = text.rpartition(".")
        if dot and 0 < len(extension) <= 10:
            text = stem[:MAX_LENGTH - len(extension) - 1] + "." + extension
        else:
            text = text[:MAX_LENGTH]
    return text
