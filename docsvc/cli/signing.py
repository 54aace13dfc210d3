"""CLI commands of the signing area, attached to ``docsvc.cli.main``: the demo PKI and its
loopback responders, signer profiles, and ``docsvc sign`` on plain files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import click

from docsvc.cli import _Context, main, pass_ctx
from docsvc.errors import ConfigError, DocsvcError
from docsvc.security import OPERATOR

_LEVELS = click.Choice(["B-B", "B-T", "B-LT", "B-LTA"])


def _refuse_production(ctx: _Context) -> None:
    if ctx.runtime.settings.env == "production":
        raise ConfigError("Không dùng PKI thử nghiệm khi DOCSVC_ENV=production.",
                          "The demo PKI is refused when DOCSVC_ENV=production.")


@main.group()
def pki() -> None:
    """Demo PKI for development and tests (refused in production)."""


@pki.command("demo")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder of the PKI (default: DOCSVC_DATA_DIR/pki).")
@click.option("--base-url", default=None,
              help="Where `docsvc pki serve` answers (TSA, OCSP, CRL); default "
                   "http://127.0.0.1:8790/.")
@click.option("--force", is_flag=True, help="Generate new keys even if the folder holds a PKI.")
@click.option("--person-user", default=None,
              help="Bind the demo-person profile to this user (a signer of 000.00.00.H48).")
@pass_ctx
def pki_demo(ctx: _Context, out: Path | None, base_url: str | None, force: bool,
             person_user: str | None) -> None:
    """Write the demo PKI and register the signer profiles demo-person and demo-agency."""
    from docsvc.pki import demo
    from docsvc.services.signers import add_signer_profile, demo_profile_specs

    _refuse_production(ctx)
    rt = ctx.runtime
    directory = out or rt.settings.pki_dir
    if force or not (directory / demo.MANIFEST).is_file():
        generated = demo.generate(directory, base_url=base_url or demo.DEFAULT_BASE_URL)
        click.echo(f"demo PKI written to {directory}", err=True)
    else:
        generated = demo.load(directory)
        click.echo(f"demo PKI already in {directory} (use --force for new keys)", err=True)
    tools = rt.signing
    with rt.sessions() as session:
        for spec in demo_profile_specs(generated, person_user=person_user):
            add_signer_profile(session, tools, OPERATOR, spec, replace=True)
            click.echo(f"signer profile {spec.id} ({spec.role}, {spec.display_name})", err=True)
    click.echo(f"TSA {generated.tsa_url} (run `docsvc pki serve`; set DOCSVC_TSA_URL for "
               f"B-T/B-LT), trust root {generated.root_cert_path}", err=True)


@pki.command("serve")
@click.option("--dir", "directory", type=click.Path(file_okay=False, path_type=Path),
              default=None, help="Folder of the PKI (default: DOCSVC_DATA_DIR/pki).")
@click.option("--port", type=int, default=None, help="Default: the port of the PKI's base URL.")
@pass_ctx
def pki_serve(ctx: _Context, directory: Path | None, port: int | None) -> None:
    """Serve the demo TSA, OCSP responder and CRLs on 127.0.0.1 until interrupted."""
    import threading
    from urllib.parse import urlsplit

    from docsvc.pki import demo
    from docsvc.pki.responders import LoopbackServer, ResponderApp

    _refuse_production(ctx)
    loaded = demo.load(directory or ctx.runtime.settings.pki_dir)
    port = port if port is not None else urlsplit(loaded.base_url).port or 8790
    with LoopbackServer(ResponderApp(loaded), port=port) as server:
        click.echo(f"serving TSA {server.base_url}tsa, OCSP {server.base_url}ocsp, CRLs "
                   f"{server.base_url}crl/ (Ctrl-C stops)", err=True)
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            pass


@main.group()
def signers() -> None:
    """Signer profiles: the competent person's and the agency's keys and pictures."""


@signers.command("add")
@click.argument("profile_id")
@click.option("--role", type=click.Choice(["person", "agency"]), required=True)
@click.option("--org", "organ_id", required=True, help="OrganId of the agency.")
@click.option("--name", "display_name", required=True,
              help="The person's full name as printed (or the agency's name).")
@click.option("--position", default=None, help="e.g. Phó Chánh Văn phòng.")
@click.option("--user", "username", default=None, help="Bind a person profile to this user.")
@click.option("--p12", "p12_path", type=click.Path(exists=True, dir_okay=False), default=None)
@click.option("--passphrase-file", type=click.Path(exists=True, dir_okay=False), default=None)
@click.option("--passphrase-env", default=None, help="NAME of the variable holding it.")
@click.option("--pkcs11-key-label", default=None)
@click.option("--pkcs11-token-label", default=None)
@click.option("--pkcs11-cert-label", default=None)
@click.option("--pin-file", type=click.Path(exists=True, dir_okay=False), default=None)
@click.option("--pin-env", default=None, help="NAME of the variable holding the PIN.")
@click.option("--chain", "chain_file", type=click.Path(exists=True, dir_okay=False),
              default=None, help="PEM file of the CA certificates to embed.")
@click.option("--picture", "picture_path", type=click.Path(exists=True, dir_okay=False),
              default=None, help="Transparent PNG: blue signature or red seal.")
@click.option("--replace", is_flag=True, help="Overwrite an existing profile with this id.")
@click.option("--allow-certificate-mismatch", "certificate_override", is_flag=True,
              help="Accept a certificate whose organisation is not the agency's (recorded).")
@pass_ctx
def signers_add(ctx: _Context, profile_id: str, replace: bool, certificate_override: bool,
                **values: str | None) -> None:
    """Register PROFILE_ID after opening its key once. The PKCS#12, its passphrase (sealed),
    the picture and the chain are read now and stored in the database, so every instance
    reaches them; a token's PIN stays in the file or variable named here."""
    from docsvc.services.signers import ProfileSpec, add_signer_profile

    key_source = "pkcs11" if values.get("pkcs11_key_label") else "pkcs12"
    absolute: dict[str, Any] = {k: str(Path(v).resolve()) if v and k.endswith(("_path", "_file")) else v
                for k, v in values.items()}
    spec = ProfileSpec(id=profile_id, key_source=key_source,
                       certificate_override=certificate_override, **absolute)
    rt = ctx.runtime
    with rt.sessions() as session:
        profile = add_signer_profile(session, rt.signing, OPERATOR, spec,
                                     replace=replace)
        click.echo(f"signer profile {profile.id} added: {profile.certificate_subject}, valid "
                   f"until {profile.certificate_not_after:%Y-%m-%d}", err=True)


@signers.command("allow-token")
@click.argument("token_label")
@click.option("--org", "organ_id", required=True, help="The agency whose admins may use it.")
@click.option("--pin-file", type=click.Path(exists=True, dir_okay=False), default=None)
@click.option("--pin-env", default=None, help="NAME of the variable holding the PIN.")
@pass_ctx
def signers_allow_token(ctx: _Context, token_label: str, organ_id: str, pin_file: str | None,
                        pin_env: str | None) -> None:
    """Let the administrators of --org name the PKCS#11 token TOKEN_LABEL in their profiles."""
    from docsvc.services.signers import grant_token

    with ctx.runtime.sessions() as session:
        grant_token(session, OPERATOR, token_label=token_label, organ_id=organ_id,
                    pin_file=str(Path(pin_file).resolve()) if pin_file else None,
                    pin_env=pin_env)
    click.echo(f"token {token_label} granted to {organ_id}", err=True)


@signers.command("import-keys")
@click.argument("profile_ids", nargs=-1)
@click.option("--allow-certificate-mismatch", "certificate_override", is_flag=True,
              help="Accept certificates whose organisation is not the agency's (recorded).")
@pass_ctx
def signers_import_keys(ctx: _Context, profile_ids: tuple[str, ...],
                        certificate_override: bool) -> None:
    """Store the key files, pictures and chains of path-based profiles in the database (all
    such profiles without arguments), checking each certificate against its agency again;
    profiles deactivated by the upgrade are active again once imported."""
    from sqlalchemy import or_, select

    from docsvc.models import SignerProfile
    from docsvc.services.signers import import_profile_files

    rt = ctx.runtime
    tools = rt.signing
    failed = 0
    with rt.sessions() as session:
        ids = list(profile_ids) or list(session.execute(
            select(SignerProfile.id).where(or_(SignerProfile.p12_path.isnot(None),
                                               SignerProfile.picture_path.isnot(None),
                                               SignerProfile.chain_file.isnot(None)))
        ).scalars())
        for profile_id in ids:
            try:
                profile = import_profile_files(session, tools, OPERATOR, profile_id,
                                               certificate_override=certificate_override)
            except DocsvcError as exc:
                session.rollback()
                failed += 1
                click.echo(f"{profile_id}: {exc.code}: {exc.text_en} {exc.details}", err=True)
                continue
            click.echo(f"{profile.id}: stored ({profile.certificate_subject})", err=True)
    tools.close()
    if failed:
        raise SystemExit(1)


@signers.command("list")
@click.option("--org", "organ_id", default=None)
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def signers_list(ctx: _Context, organ_id: str | None, as_json: bool) -> None:
    """List the signer profiles: id, role, organisation, name, key source."""
    from docsvc.services.signers import list_signer_profiles, profile_to_dict

    rt = ctx.runtime
    with rt.sessions() as session:
        found = list_signer_profiles(session, organ_ids=[organ_id] if organ_id else None)
        rows = [profile_to_dict(p) for p in found]
    if as_json:
        click.echo(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    for row in rows:
        columns = [row["id"], row["role"], row["organ_id"], row["display_name"],
                   row["key_source"], row["username"] or "-"] + (["demo"] if row["is_demo"] else [])
        click.echo("\t".join(columns))


@main.command("sign")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("out", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--signer", "profile_id", default=None, help="Signer profile id (database).")
@click.option("--role", type=click.Choice(["person", "agency", "attachment", "copy"]),
              required=True)
@click.option("--level", type=_LEVELS, default=None,
              help="Default B-LT with DOCSVC_TSA_URL and trust roots, else B-B.")
@click.option("--allow-lower-level", is_flag=True, help="Fall back when the TSA/OCSP is down.")
@click.option("--p12", "p12_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="Sign with this PKCS#12 file instead of a profile.")
@click.option("--passphrase-file", type=click.Path(exists=True, dir_okay=False), default=None)
@click.option("--passphrase-env", default=None)
@click.option("--picture", type=click.Path(exists=True, dir_okay=False), default=None)
@click.option("--name", default=None, help="With --p12: the signer's name as printed.")
@click.option("--page", type=int, default=None)
@click.option("--box", default=None, help="x1,y1,x2,y2 in points (origin bottom left).")
@click.option("--reference", default=None, help="Number/notation or copy form (text stamps).")
@pass_ctx
def sign(ctx: _Context, file: Path, out: Path, profile_id: str | None, role: str,
         level: str | None, allow_lower_level: bool, p12_path: str | None,
         passphrase_file: str | None, passphrase_env: str | None, picture: str | None,
         name: str | None, page: int | None, box: str | None, reference: str | None) -> None:
    """Sign FILE into OUT without a server, with a profile (--signer) or a PKCS#12 (--p12)."""
    from docsvc.services.signers import ProfileSpec, get_profile_spec
    from docsvc.services.signing import parse_placement, sign_bytes

    if (profile_id is None) == (p12_path is None):
        raise click.UsageError("give --signer ID or --p12 FILE")
    rt = ctx.runtime
    if profile_id is not None:
        with rt.sessions() as session:
            spec = get_profile_spec(session, profile_id)
    else:
        from docsvc.signing import load_pkcs12_signer

        signer = load_pkcs12_signer(p12_path or "", passphrase_file=passphrase_file,
                                    passphrase_env=passphrase_env)
        subject = signer.signing_cert.subject.native if signer.signing_cert else {}
        spec = ProfileSpec(
            id="cli", role="person" if role == "person" else "agency", organ_id="",
            display_name=name or subject.get("common_name", ""), key_source="pkcs12",
            p12_path=p12_path, passphrase_file=passphrase_file, passphrase_env=passphrase_env,
            picture_path=picture)
    placement = None
    if page is not None or box is not None:
        raw: dict = {"page": page}
        if box is not None:
            try:
                raw["box"] = [float(v) for v in box.split(",")]
            except ValueError as exc:
                raise click.BadParameter("x1,y1,x2,y2", param_hint="--box") from exc
        try:
            placement = parse_placement(raw)
        except ValueError as exc:
            raise click.BadParameter(str(exc)) from exc
    signed = sign_bytes(rt.signing, spec, file.read_bytes(), role=role,
                        level=level, placement=placement, allow_lower_level=allow_lower_level,
                        reference=reference)
    out.write_bytes(signed.data)
    for warning in signed.warnings:
        click.echo(f"WARNING {warning.code}: {warning.message}", err=True)
    click.echo(f"signed {role} at {signed.level} by {signed.certificate_subject} -> {out}",
               err=True)
