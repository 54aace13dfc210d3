"""Full-text search of the registry: Vietnamese text folded for diacritic-blind matching, the
query language, snippets, and the two index backends (PostgreSQL ``tsvector`` with ``unaccent``,
SQLite FTS5) behind one interface.

Tokenisation: Vietnamese writes one syllable per space-separated unit ("cải cách hành chính" is
four syllables, two words); the index does no word segmentation, each syllable is a token. Text is
folded to lowercase without diacritics (``đ`` → ``d``) and every character that is not a letter or
digit separates tokens, so ``185/TB-UBND`` is the three tokens ``185 tb ubnd``. A query is a list
of terms that must all match; a term written with punctuation (``185/TB-UBND``) or in double
quotes (``"hành chính"``) must match as a phrase (consecutive tokens).
"""

from __future__ import annotations

import html
import re
import unicodedata
from dataclasses import dataclass

_TOKEN = re.compile(r"\w+")
_TERM = re.compile(r'"([^"]*)"|(\S+)')
MAX_INDEXED_CHARACTERS = 400_000
"""Text beyond this (about 150 pages) is kept for reading but not indexed (tsvector limits)."""


def _fold_char(c: str) -> str:
    if c in "đĐ":
        return "d"
    base = unicodedata.normalize("NFD", c)[0]
    low = base.lower()
    return low if len(low) == 1 else c


# Latin letters with diacritics live below U+2000 (Vietnamese in U+00C0–U+01B0, U+1EA0–U+1EF9).
_FOLD_TABLE = {code: _fold_char(chr(code)) for code in range(0x41, 0x2000)
               if _fold_char(chr(code)) != chr(code)}


def fold_same_length(text: str) -> str:
    """Fold ``text`` to lowercase without diacritics, one character for one (offsets stay valid)."""
    return text.translate(_FOLD_TABLE)


def index_form(text: str) -> str:
    """Return the text as the index sees it: folded, punctuation turned into spaces."""
    return " ".join(_TOKEN.findall(fold_same_length(text[:MAX_INDEXED_CHARACTERS])))


@dataclass(frozen=True)
class Query:
    """A parsed text query: each term is a tuple of tokens that must appear consecutively."""

    terms: tuple[tuple[str, ...], ...]

    @property
    def tokens(self) -> list[str]:
        """Return every token of every term."""
        return [t for term in self.terms for t in term]

    def fts5(self) -> str:
        """Return the SQLite FTS5 MATCH expression (phrases ANDed; tokens are \\w+ only)."""
        return " AND ".join('"' + " ".join(term) + '"' for term in self.terms)

    def tsquery(self) -> str:
        """Return the PostgreSQL ``to_tsquery`` expression (phrases with <->, ANDed)."""
        return " & ".join("(" + " <-> ".join(f"'{t}'" for t in term) + ")" for term in self.terms)


def parse_query(q: str) -> Query:
    """Parse the words of a search box into terms (empty when it holds no letter or digit)."""
    terms = []
    for quoted, bare in _TERM.findall(unicodedata.normalize("NFC", q)):
        tokens = tuple(_TOKEN.findall(fold_same_length(quoted or bare)))
        if tokens:
            terms.append(tokens)
    return Query(tuple(dict.fromkeys(terms)))


def count_matches(content: str, query: Query, folded: str | None = None) -> int:
    """Return how many of the query's tokens occur in ``content`` (to pick the text to quote)."""
    folded = fold_same_length(content) if folded is None else folded
    return sum(1 for token in set(query.tokens)
               if re.search(r"(?<!\w)" + re.escape(token) + r"(?!\w)", folded))


def snippet(content: str, query: Query, *, before: int = 60, after: int = 180,
            folded: str | None = None) -> str:
    """Return escaped HTML around the first match in ``content``, matches wrapped in ``<mark>``."""
    folded = fold_same_length(content) if folded is None else folded
    tokens = sorted(set(query.tokens), key=len, reverse=True)
    if not tokens:
        return html.escape(" ".join(content[: before + after].split()))
    pattern = re.compile(r"(?<!\w)(" + "|".join(re.escape(t) for t in tokens) + r")(?!\w)")
    first = None
    for term in query.terms:  # centre on the first term's first occurrence (phrase if it is one)
        phrase = r"(?<!\w)" + r"\W+".join(re.escape(t) for t in term) + r"(?!\w)"
        m = re.search(phrase, folded)
        if m:
            first = m.start()
            break
    if first is None:
        m = pattern.search(folded)
        first = m.start() if m else 0
    start = max(0, first - before)
    end = min(len(content), first + after)
    if start > 0:
        space = content.find(" ", start, first)
        start = space + 1 if space != -1 else start
    if end < len(content):
        space = content.rfind(" ", first, end)
        end = space if space > first else end
    out, position = [], start
    for m in pattern.finditer(folded, start, end):
        out.append(html.escape(content[position:m.start()]))
        out.append("<mark>" + html.escape(content[m.start():m.end()]) + "</mark>")
        position = m.end()
    out.append(html.escape(content[position:end]))
    text = " ".join("".join(out).split())
    return ("… " if start > 0 else "") + text + (" …" if end < len(content) else "")
