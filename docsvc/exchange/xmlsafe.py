"""Hardened XML reading: a streaming lxml parser that refuses DTDs and entities, never touches the
network, enforces size/count/depth/text limits and streams attachment base64 to a spool.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from lxml import etree

from docsvc.exchange.attachments import Base64Decoder, Spool, StoredContent
from docsvc.exchange.errors import (
    XmlForbiddenConstructError,
    XmlMalformedError,
    XmlTextTooLongError,
    XmlTooDeepError,
    XmlTooLargeError,
    XmlTooManyElementsError,
)
from docsvc.exchange.model import NS

MiB = 1024 * 1024
_FEED_CHUNK = 256 * 1024
_HEAD_BYTES = 64 * 1024
_EXTERNAL_ENTITY = re.compile(rb"<!ENTITY\s+(?:%\s*)?[^\s>]+\s+(?:SYSTEM|PUBLIC)\b")


@dataclass(frozen=True)
class ParseLimits:
    """Bounds on what a package may contain; every limit is checked while streaming."""

    max_bytes: int = 192 * MiB
    """The whole package as received."""
    max_elements: int = 20_000
    max_depth: int = 32
    max_text_length: int = 256 * 1024
    """Any text node or attribute value, except attachment content."""
    max_attributes: int = 64
    """Per element."""
    max_attachments: int = 500
    max_attachment_bytes: int = 128 * MiB
    """One attachment, decoded and unzipped."""


@dataclass
class Node:
    """A light element: what the tolerant reader needs, nothing of libxml2's tree."""

    ns: str
    name: str
    attrib: dict[str, str]
    children: list[Node] = field(default_factory=list)
    parts: list[str] = field(default_factory=list)
    text_length: int = 0
    stored: StoredContent | None = None
    """For ``ContentTransferEncoded``: the decoded bytes."""
    content_error: str | None = None

    @property
    def text(self) -> str:
        return "".join(self.parts)

    @property
    def is_edxml(self) -> bool:
        """In the edXML namespace, or in none (tolerated)."""
        return self.ns in (NS, "")


def _split(tag: str) -> tuple[str, str]:
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    if ":" in tag:
        raise XmlMalformedError(
            f"Tiền tố không gian tên của '{tag}' chưa được khai báo.",
            f"Namespace prefix of '{tag}' is not declared.",
            details={"reason": "undeclared_prefix", "name": tag},
        )
    return "", tag


class _Target:
    """lxml parser target: receives SAX events, so text arrives in pieces, never whole."""

    def __init__(self, limits: ParseLimits, spool_dir: Path | None, keep_content: bool) -> None:
        self.limits = limits
        self.spool_dir = spool_dir
        self.keep_content = keep_content
        self.head = b""
        self.stack: list[Node] = []
        self.root: Node | None = None
        self.elements = 0
        self.decoders: list[Base64Decoder] = []
        self.decoder: Base64Decoder | None = None
        self.in_content = False

    def doctype(self, name: str, pubid: str | None, system: str | None) -> None:
        if _EXTERNAL_ENTITY.search(self.head):
            construct = "external_entity"
        elif pubid or system:
            construct = "external_dtd"
        elif b"<!ENTITY" in self.head:
            construct = "entity_declaration"
        else:
            construct = "doctype"
        raise XmlForbiddenConstructError(
            f"Gói tin chứa khai báo DOCTYPE ({construct}); không chấp nhận DTD và thực thể XML.",
            f"The package has a DOCTYPE ({construct}); DTDs and entities are not accepted.",
            details={"construct": construct},
        )

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        limits = self.limits
        self.elements += 1
        if self.elements > limits.max_elements:
            raise XmlTooManyElementsError(
                f"Gói tin có hơn {limits.max_elements} phần tử XML.",
                f"The package has more than {limits.max_elements} XML elements.",
                details={"limit": limits.max_elements},
            )
        if len(self.stack) >= limits.max_depth:
            raise XmlTooDeepError(
                f"Cấu trúc XML lồng nhau sâu hơn {limits.max_depth} mức.",
                f"The XML is nested deeper than {limits.max_depth} levels.",
                details={"limit": limits.max_depth},
            )
        if self.in_content:
            raise XmlMalformedError(
                "Nội dung tệp đính kèm (ContentTransferEncoded) chứa phần tử XML.",
                "Attachment content (ContentTransferEncoded) contains an XML element.",
                details={"reason": "element_in_attachment_content"},
            )
        if len(attrib) > limits.max_attributes:
            raise XmlTooManyElementsError(
                f"Một phần tử có hơn {limits.max_attributes} thuộc tính.",
                f"An element has more than {limits.max_attributes} attributes.",
                details={"limit": limits.max_attributes, "what": "attributes"},
            )
        ns, name = _split(tag)
        attributes: dict[str, str] = {}
        for key, value in attrib.items():
            _split(key)
            self._check_text(len(value), name)
            attributes[key] = value
        node = Node(ns, name, attributes)
        if self.stack:
            parent = self.stack[-1]
            parent.children.append(node)
            if name == "ContentTransferEncoded" and parent.name == "Attachment":
                self._open_content()
        else:
            self.root = node
        self.stack.append(node)

    def _open_content(self) -> None:
        self.in_content = True
        if not self.keep_content:
            return
        if len(self.decoders) >= self.limits.max_attachments:
            raise XmlTooManyElementsError(
                f"Gói tin có hơn {self.limits.max_attachments} tệp đính kèm.",
                f"The package has more than {self.limits.max_attachments} attachments.",
                details={"limit": self.limits.max_attachments, "what": "attachments"},
            )
        index = len(self.decoders)
        name = f"attachment-{index:04d}.raw"
        self.decoder = Base64Decoder(Spool(self.spool_dir, name, self.limits.max_attachment_bytes))
        self.decoders.append(self.decoder)

    def data(self, text: str) -> None:
        if self.in_content:
            if self.decoder is not None:
                self.decoder.feed(text)
            return
        if not self.stack:
            return
        node = self.stack[-1]
        node.text_length += len(text)
        self._check_text(node.text_length, node.name)
        node.parts.append(text)

    def end(self, tag: str) -> None:
        node = self.stack.pop()
        if self.in_content:
            self.in_content = False
            if self.decoder is not None:
                node.stored = self.decoder.close()
                node.content_error = self.decoder.error
                self.decoder = None

    def close(self) -> Node | None:
        return self.root

    def _check_text(self, length: int, where: str) -> None:
        if length > self.limits.max_text_length:
            raise XmlTextTooLongError(
                f"Trường '{where}' dài hơn {self.limits.max_text_length} ký tự.",
                f"Text of '{where}' is longer than {self.limits.max_text_length} characters.",
                details={"limit": self.limits.max_text_length, "element": where},
            )

    def discard(self) -> None:
        for decoder in self.decoders:
            decoder.spool.discard()


def _too_large(limit: int) -> XmlTooLargeError:
    return XmlTooLargeError(
        f"Gói tin lớn hơn {limit} byte.",
        f"The package is larger than {limit} bytes.",
        details={"limit": limit},
    )


def _chunks(source: bytes | bytearray | memoryview | BinaryIO, limit: int) -> Iterator[bytes]:
    if isinstance(source, bytes | bytearray | memoryview):
        view = memoryview(source)
        if view.nbytes > limit:
            raise _too_large(limit)
        for start in range(0, view.nbytes, _FEED_CHUNK):
            yield bytes(view[start : start + _FEED_CHUNK])
        return
    total = 0
    while chunk := source.read(_FEED_CHUNK):
        total += len(chunk)
        if total > limit:
            raise _too_large(limit)
        yield chunk


def read_tree(
    source: bytes | BinaryIO,
    limits: ParseLimits | None = None,
    *,
    spool_dir: Path | None = None,
    keep_content: bool = True,
) -> Node:
    """Stream ``source`` through the hardened parser and return its light tree.

    Attachment content is decoded into spools (memory, or files in ``spool_dir``) and found on
    the ``ContentTransferEncoded`` nodes; with ``keep_content=False`` it is only skipped.
    """
    limits = limits or ParseLimits()
    target = _Target(limits, spool_dir, keep_content)
    parser = etree.XMLParser(
        target=target,
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        remove_comments=True,
        remove_pis=True,
    )
    try:
        for chunk in _chunks(source, limits.max_bytes):
            if len(target.head) < _HEAD_BYTES:
                target.head += chunk[: _HEAD_BYTES - len(target.head)]
            parser.feed(chunk)
        root = parser.close()
        # With a parser target lxml reports namespace errors (an undeclared prefix) only here.
        errors = [e for e in parser.feed_error_log if e.level >= etree.ErrorLevels.ERROR]
        if errors:
            raise XmlMalformedError(
                f"Nội dung XML bị lỗi: {errors[0].message}",
                f"The XML is not well-formed: {errors[0].message}",
                details={"reason": errors[0].type_name.lower(), "line": errors[0].line},
            )
    except etree.XMLSyntaxError as exc:
        target.discard()
        raise XmlMalformedError(
            f"Nội dung XML bị lỗi cú pháp: {exc.msg}",
            f"The XML is not well-formed: {exc.msg}",
            details={"reason": "syntax", "line": exc.lineno, "column": exc.offset},
        ) from None
    except BaseException:
        target.discard()
        raise
    if root is None:  # pragma: no cover - lxml raises on an empty document
        raise XmlMalformedError(details={"reason": "empty"})
    return root


def parse_tree(data: bytes, limits: ParseLimits | None = None) -> etree._Element:
    """Return a full lxml tree of ``data`` after the hardened streaming checks passed.

    ``huge_tree`` is on only here, because base64 attachments exceed libxml2's 10 MB text node
    cap and every bound it guards against has been enforced by :func:`read_tree` first.
    """
    read_tree(data, limits, keep_content=False)
    try:
        return etree.fromstring(data, parser=safe_parser())
    except etree.XMLSyntaxError as exc:  # pragma: no cover - read_tree already refused it
        raise XmlMalformedError(details={"reason": "syntax", "line": exc.lineno}) from None


def safe_parser() -> etree.XMLParser:
    """Return the lxml parser used after :func:`read_tree` checked the same bytes."""
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True)
