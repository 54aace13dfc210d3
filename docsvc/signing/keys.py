"""Key sources: a PKCS#12 file or a PKCS#11 token, each opened once into a pyHanko ``Signer``
that is reused for every signature. Passphrases and PINs come from a file or an environment
variable named by the configuration; they are never stored.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from asn1crypto import x509 as asn1_x509
from cryptography.hazmat.primitives.asymmetric.ec import ECDSA, EllipticCurvePrivateKey
from cryptography.hazmat.primitives.asymmetric.padding import PKCS1v15
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.serialization import pkcs12
from pyhanko.keys import load_certs_from_pemder
from pyhanko.keys.internal import (
    translate_pyca_cryptography_cert_to_asn1,
    translate_pyca_cryptography_key_to_asn1,
)
from pyhanko.sign.signers import Signer, SimpleSigner
from pyhanko_certvalidator.registry import SimpleCertificateStore
from pyhanko_certvalidator.util import get_pyca_cryptography_hash, process_pss_params

from docsvc.errors import ConfigError
from docsvc.signing.errors import SignerUnavailableError, WrongPinError


def read_secret(*, file: str | Path | None = None, env: str | None = None,
                environ: Mapping[str, str] | None = None) -> bytes:
    """Read a passphrase or PIN from ``file`` or from the environment variable named ``env``."""
    if file is not None:
        try:
            return Path(file).read_bytes().rstrip(b"\r\n")
        except OSError as exc:
            raise SignerUnavailableError(
                f"Không đọc được tệp mật khẩu {file}.", f"Cannot read secret file {file}.",
            ) from exc
    if env is not None:
        value = (os.environ if environ is None else environ).get(env)
        if value is None:
            raise ConfigError(f"Thiếu biến môi trường {env}.",
                              f"Environment variable {env} is not set.", details={"env": env})
        return value.encode()
    raise ConfigError("Cần chỉ ra tệp hoặc biến môi trường chứa mật khẩu.",
                      "Give the secret's file or environment variable.")


class LoadedKeySigner(SimpleSigner):
    """A ``SimpleSigner`` that parses its private key once instead of for every signature."""

    def __init__(self, signing_cert: asn1_x509.Certificate,
                 private_key: RSAPrivateKey | EllipticCurvePrivateKey,
                 cert_registry: SimpleCertificateStore, **kwargs: Any) -> None:
        super().__init__(signing_cert, translate_pyca_cryptography_key_to_asn1(private_key),
                         cert_registry, **kwargs)
        self._private_key = private_key

    def sign_raw(self, data: bytes, digest_algorithm: str) -> bytes:
        """Sign ``data`` with the cached key object."""
        mechanism = self.get_signature_mechanism_for_digest(digest_algorithm)
        algo = mechanism.signature_algo
        key = self._private_key
        if algo == "rsassa_pkcs1v15" and isinstance(key, RSAPrivateKey):
            return key.sign(data, PKCS1v15(), get_pyca_cryptography_hash(digest_algorithm))
        if algo == "rsassa_pss" and isinstance(key, RSAPrivateKey):
            padding, hash_algo = process_pss_params(mechanism["parameters"])
            return key.sign(data, padding, hash_algo)
        if algo == "ecdsa" and isinstance(key, EllipticCurvePrivateKey):
            return key.sign(data, ECDSA(get_pyca_cryptography_hash(digest_algorithm)))
        return super().sign_raw(data, digest_algorithm)


def _load_chain(paths: Iterable[str | Path]) -> list[asn1_x509.Certificate]:
    return list(load_certs_from_pemder([str(p) for p in paths]))


def load_pkcs12_signer(p12_path: str | Path, *, passphrase: bytes | None = None,
                       passphrase_file: str | Path | None = None,
                       passphrase_env: str | None = None,
                       environ: Mapping[str, str] | None = None,
                       chain_files: Iterable[str | Path] = ()) -> LoadedKeySigner:
    """Open a PKCS#12 file once into a reusable signer; extra CA certificates may be given."""
    if passphrase is None:
        passphrase = read_secret(file=passphrase_file, env=passphrase_env, environ=environ)
    try:
        data = Path(p12_path).read_bytes()
    except OSError as exc:
        raise SignerUnavailableError(
            f"Không đọc được tệp khóa {p12_path}.", f"Cannot read key file {p12_path}.",
        ) from exc
    return load_pkcs12_bytes(data, passphrase, chain=_load_chain(chain_files))


def load_pkcs12_bytes(data: bytes, passphrase: bytes, *,
                      chain: Iterable[asn1_x509.Certificate] = ()) -> LoadedKeySigner:
    """Open PKCS#12 bytes (an uploaded or stored key) into a reusable signer."""
    try:
        key, cert, extra = pkcs12.load_key_and_certificates(data, passphrase)
    except (ValueError, TypeError) as exc:
        raise WrongPinError(details={"key_source": "pkcs12"}) from exc
    if not isinstance(key, RSAPrivateKey | EllipticCurvePrivateKey) or cert is None:
        raise SignerUnavailableError(
            "Tệp PKCS#12 không chứa khóa RSA/ECDSA kèm chứng thư số.",
            "The PKCS#12 file holds no RSA/ECDSA key with its certificate.",
        )
    registry = SimpleCertificateStore()
    registry.register_multiple([translate_pyca_cryptography_cert_to_asn1(c) for c in extra])
    registry.register_multiple(list(chain))
    return LoadedKeySigner(translate_pyca_cryptography_cert_to_asn1(cert), key, registry)


class TokenSigner:
    """A PKCS#11 session kept open with its pyHanko signer; close it when done.

    The key handle is looked up once and reused; signatures on one session are serialised.
    """

    def __init__(self, module_path: str | Path, *, key_label: str,
                 cert_label: str | None = None, token_label: str | None = None,
                 slot_no: int | None = None, pin: bytes | None = None,
                 pin_file: str | Path | None = None, pin_env: str | None = None,
                 environ: Mapping[str, str] | None = None,
                 chain_files: Iterable[str | Path] = (),
                 chain: Iterable[asn1_x509.Certificate] = ()) -> None:
        import pkcs11  # deferred: python-pkcs11 is only needed for token users
        from pyhanko.config.pkcs11 import TokenCriteria
        from pyhanko.sign.pkcs11 import PKCS11Signer, open_pkcs11_session

        if pin is None:
            pin = read_secret(file=pin_file, env=pin_env, environ=environ)
        criteria = TokenCriteria(label=token_label) if token_label else None
        try:
            try:
                session = open_pkcs11_session(str(module_path), slot_no=slot_no,
                                              token_criteria=criteria, user_pin=pin.decode())
            except pkcs11.UserAlreadyLoggedIn:
                # Login is per token and process: another session of ours already holds it.
                session = open_pkcs11_session(str(module_path), slot_no=slot_no,
                                              token_criteria=criteria)
        except pkcs11.PinIncorrect as exc:
            raise WrongPinError(details={"key_source": "pkcs11"}) from exc
        except (pkcs11.PKCS11Error, OSError, RuntimeError) as exc:
            raise SignerUnavailableError(details={"key_source": "pkcs11",
                                                  "error": type(exc).__name__}) from exc
        self.session: pkcs11.Session | None = session
        lock = threading.Lock()

        class _LockedSigner(PKCS11Signer):
            async def async_sign_raw(self, data: bytes, digest_algorithm: str,
                                     dry_run: bool = False) -> bytes:
                with lock:
                    return await super().async_sign_raw(data, digest_algorithm, dry_run)

        self.signer: Signer = _LockedSigner(
            self.session, cert_label=cert_label or key_label, key_label=key_label,
            ca_chain=[*chain, *_load_chain(chain_files)], other_certs_to_pull=None,
        )
        try:
            # Load the key and certificate now, once, so the first signature is not slower.
            import asyncio

            asyncio.run(self.signer.ensure_objects_loaded())
            cert = self.signer.signing_cert
            if cert is not None and cert.public_key.algorithm == "ec":
                # SoftHSM and many tokens offer only raw CKM_ECDSA over a digest we compute.
                self.signer.use_raw_mechanism = True
        except (pkcs11.PKCS11Error, Exception) as exc:
            self.close()
            raise SignerUnavailableError(
                f"Không tìm thấy khóa '{key_label}' trên thiết bị ký.",
                f"Key '{key_label}' not found on the token.",
                details={"key_source": "pkcs11"},
            ) from exc

    def close(self) -> None:
        """Close the PKCS#11 session."""
        if self.session is not None:
            self.session.close()
            self.session = None

    def __enter__(self) -> TokenSigner:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
