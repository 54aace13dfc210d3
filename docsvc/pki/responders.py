"""Loopback RFC 3161 TSA, OCSP (RFC 6960) and CRL responders for the demo PKI, as one WSGI
app served by werkzeug on 127.0.0.1; for tests and development only.
"""

from __future__ import annotations

import base64
import datetime as dt
import threading
from dataclasses import dataclass
from typing import Any

from asn1crypto import keys as asn1_keys
from asn1crypto import tsp
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509 import ocsp
from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper
from pyhanko_certvalidator.registry import SimpleCertificateStore
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from docsvc.pki.demo import DemoPki, PrivateKey, build_crl

_OCSP_HASHES = {"sha1": hashes.SHA1, "sha256": hashes.SHA256}  # noqa: S303 - RFC 6960 CertID


@dataclass
class _Loaded:
    pki: DemoPki
    certs: dict[str, x509.Certificate]
    keys: dict[str, PrivateKey]
    timestamper: DummyTimeStamper


class ResponderApp:
    """WSGI app answering ``/tsa``, ``/ocsp``, ``/crl/<ca>.crl`` and ``/certs/<name>.crt``.

    ``tsa_available`` and ``ocsp_available`` can be switched off to provoke outages (503).
    """

    def __init__(self, pki: DemoPki | None = None) -> None:
        self._loaded: _Loaded | None = None
        self.tsa_available = True
        self.ocsp_available = True
        self.requests: list[str] = []
        if pki is not None:
            self.use(pki)

    def use(self, pki: DemoPki) -> None:
        """Answer for ``pki`` from now on (its keys are loaded once, here)."""
        names = ("root-ca", "issuing-ca", "tsa", "ocsp")
        certs = {n: pki[n].certificate() for n in pki}
        keys = {n: pki[n].private_key() for n in names}
        tsa_key = asn1_keys.PrivateKeyInfo.load(keys["tsa"].private_bytes(
            serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ))
        chain = [_to_asn1(certs["issuing-ca"]), _to_asn1(certs["root-ca"])]
        stamper = DummyTimeStamper(_to_asn1(certs["tsa"]), tsa_key,
                                   certs_to_embed=SimpleCertificateStore.from_certs(chain))
        self._loaded = _Loaded(pki, certs, keys, stamper)

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        self.requests.append(request.path)
        return self._dispatch(request)(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        loaded = self._loaded
        if loaded is None:
            return Response("no PKI loaded", status=503)
        path = request.path
        if path == "/tsa" and request.method == "POST":
            if not self.tsa_available:
                return Response("TSA unavailable", status=503)
            return self._timestamp(loaded, request.get_data())
        if path.startswith("/ocsp"):
            if not self.ocsp_available:
                return Response("OCSP unavailable", status=503)
            if request.method == "POST":
                der = request.get_data()
            else:
                der = base64.b64decode(path.removeprefix("/ocsp/").encode())
            return self._ocsp(loaded, der)
        if path.startswith("/crl/") and path.endswith(".crl"):
            ca = path.removeprefix("/crl/").removesuffix(".crl")
            if ca in ("root-ca", "issuing-ca"):
                crl = build_crl(loaded.certs[ca], loaded.keys[ca], self._revoked_by(loaded, ca))
                return Response(crl.public_bytes(serialization.Encoding.DER),
                                content_type="application/pkix-crl")
        if path.startswith("/certs/") and path.endswith(".crt"):
            name = path.removeprefix("/certs/").removesuffix(".crt")
            if name in loaded.certs:
                return Response(loaded.certs[name].public_bytes(serialization.Encoding.DER),
                                content_type="application/pkix-cert")
        return Response("not found", status=404)

    @staticmethod
    def _revoked_by(loaded: _Loaded, ca: str) -> dict[int, dt.datetime]:
        issued = {c.serial_number for c in loaded.certs.values()
                  if c.issuer == loaded.certs[ca].subject and c.subject != c.issuer}
        return {s: t for s, t in loaded.pki.revoked.items() if s in issued}

    @staticmethod
    def _timestamp(loaded: _Loaded, der: bytes) -> Response:
        try:
            req = tsp.TimeStampReq.load(der)
            req.native  # noqa: B018 - force a full parse to reject garbage
        except ValueError:
            return Response("bad request", status=400)
        resp = loaded.timestamper.request_tsa_response(req)
        return Response(resp.dump(), content_type="application/timestamp-reply")

    def _ocsp(self, loaded: _Loaded, der: bytes) -> Response:
        try:
            req = ocsp.load_der_ocsp_request(der)
        except ValueError:
            return _ocsp_response(ocsp.OCSPResponseBuilder.build_unsuccessful(
                ocsp.OCSPResponseStatus.MALFORMED_REQUEST))
        issuing = loaded.certs["issuing-ca"]
        algorithm = _OCSP_HASHES.get(req.hash_algorithm.name)
        if algorithm is None:
            return _ocsp_response(ocsp.OCSPResponseBuilder.build_unsuccessful(
                ocsp.OCSPResponseStatus.MALFORMED_REQUEST))
        name_hash = hashes.Hash(algorithm())
        name_hash.update(issuing.subject.public_bytes())
        if req.issuer_name_hash != name_hash.finalize():
            return _ocsp_response(ocsp.OCSPResponseBuilder.build_unsuccessful(
                ocsp.OCSPResponseStatus.UNAUTHORIZED))
        now = dt.datetime.now(dt.UTC).replace(microsecond=0)
        revoked = self._revoked_by(loaded, "issuing-ca")
        issued = {c.serial_number for c in loaded.certs.values() if c.issuer == issuing.subject}
        serial = req.serial_number
        if serial in revoked:
            status, when = ocsp.OCSPCertStatus.REVOKED, revoked[serial]
        elif serial in issued:
            status, when = ocsp.OCSPCertStatus.GOOD, None
        else:
            status, when = ocsp.OCSPCertStatus.UNKNOWN, None
        responder = loaded.certs["ocsp"]
        builder = (
            ocsp.OCSPResponseBuilder()
            .add_response_by_hash(
                req.issuer_name_hash, req.issuer_key_hash, serial, algorithm(), status,
                now - dt.timedelta(minutes=1), now + dt.timedelta(hours=12), when,
                x509.ReasonFlags.unspecified if when else None,
            )
            .responder_id(ocsp.OCSPResponderEncoding.HASH, responder)
            .certificates([responder])
        )
        for ext in req.extensions:
            if isinstance(ext.value, x509.OCSPNonce):
                builder = builder.add_extension(ext.value, critical=False)
        return _ocsp_response(builder.sign(loaded.keys["ocsp"], hashes.SHA256()))


def _ocsp_response(resp: ocsp.OCSPResponse) -> Response:
    return Response(resp.public_bytes(serialization.Encoding.DER),
                    content_type="application/ocsp-response")


def _to_asn1(cert: x509.Certificate) -> asn1_x509.Certificate:
    return asn1_x509.Certificate.load(cert.public_bytes(serialization.Encoding.DER))


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


class LoopbackServer:
    """A :class:`ResponderApp` served on 127.0.0.1 in a background thread."""

    def __init__(self, app: ResponderApp | None = None, *, port: int = 0) -> None:
        self.app = app or ResponderApp()
        self._server: BaseWSGIServer = make_server(
            "127.0.0.1", port, self.app, threaded=True, request_handler=_QuietHandler
        )
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/"

    def start(self) -> LoopbackServer:
        """Serve requests in a daemon thread."""
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True,
                                        name="docsvc-pki-responders")
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
