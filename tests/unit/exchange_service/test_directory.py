"""The directory: import/export as JSON and CSV, the demo seed, checks, and the CLI."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from docsvc.cli import main
from docsvc.errors import InvalidMetadataError
from docsvc.models import Organization
from docsvc.security import OPERATOR
from docsvc.services import directory as dirsvc
from docsvc.services.identity import add_system


def test_seed_demo_is_idempotent_and_hangs_below_the_province(session):
    first = dirsvc.seed_demo(session, OPERATOR)
    assert "000.00.00.H48" in first.created and "000.00.53.H48" in first.created
    again = dirsvc.seed_demo(session, OPERATOR)
    assert again.created == () and again.updated == ()
    assert session.get(Organization, "000.00.53.H48").parent_id == "000.00.00.H48"
    children = dirsvc.list_organizations(session, parent_id="000.00.00.H48")
    assert len(children) >= 5 and all(c.parent_id == "000.00.00.H48" for c in children)
    assert [o.organ_id for o in dirsvc.list_organizations(session, q="noi vu")] == ["000.00.53.H48"]


@pytest.mark.parametrize("fmt", ["json", "csv"])
def test_export_then_import_round_trips(session, fmt):
    dirsvc.seed_demo(session, OPERATOR)
    org = session.get(Organization, "000.01.01.H48")
    org.endpoint_url = "https://tinhan.example.vn/"
    session.commit()
    text = dirsvc.export_directory(session, fmt)
    entries = dirsvc.parse_directory(text.encode(), fmt)
    by_id = {e["organ_id"]: e for e in entries}
    assert by_id["000.01.01.H48"]["reach"] == "push" and by_id["000.00.00.H48"]["reach"] == "pull"
    by_id["000.01.01.H48"]["name"] = "UBND xã Tịnh Ấn (mới)"
    report = dirsvc.import_directory(session, OPERATOR, entries)
    assert report.updated == ("000.01.01.H48",) and report.created == ()
    assert session.get(Organization, "000.01.01.H48").name == "UBND xã Tịnh Ấn (mới)"


def test_fields_left_out_keep_their_value_fields_present_but_empty_are_cleared(session):
    dirsvc.seed_demo(session, OPERATOR)
    org = session.get(Organization, "000.01.01.H48")
    org.endpoint_url, org.telephone = "https://tinhan.example.vn/", "0255 3822 000"
    session.commit()
    again = dirsvc.seed_demo(session, OPERATOR)  # the seed has no endpoint_url or telephone
    assert "000.01.01.H48" not in again.updated
    assert (org.endpoint_url, org.telephone) == ("https://tinhan.example.vn/", "0255 3822 000")
    dirsvc.import_directory(session, OPERATOR, [{"organ_id": "000.01.01.H48",
                                                 "name": org.name, "telephone": ""}])
    assert (org.endpoint_url, org.telephone) == ("https://tinhan.example.vn/", None)


def test_a_bad_entry_imports_nothing_and_every_problem_is_listed(session):
    entries = [
        {"organ_id": "000.02.01.H48", "name": "UBND xã A"},
        {"organ_id": "H48-bad", "name": ""},
        {"organ_id": "000.02.02.H48", "name": "UBND xã B", "endpoint_url": "ftp://x"},
    ]
    with pytest.raises(InvalidMetadataError) as info:
        dirsvc.import_directory(session, OPERATOR, entries)
    fields = {p["field"] for p in info.value.details["fields"]}
    assert fields == {"organizations[1].organ_id", "organizations[1].name",
                      "organizations[2].endpoint_url"}
    assert session.get(Organization, "000.02.01.H48") is None


def test_allow_listed_test_identifiers_are_accepted(session):
    report = dirsvc.import_directory(session, OPERATOR, [{"organ_id": "vxp.saas.03", "name": "Thử"}],
                                     allow=frozenset({"vxp.saas.03"}))
    assert report.created == ("vxp.saas.03",)


def test_adding_a_system_adds_its_organisation_once(session):
    dirsvc.seed_demo(session, OPERATOR)
    add_system(session, OPERATOR, organ_id="000.01.03.H48", name="khác")
    assert session.get(Organization, "000.01.03.H48").name == "UBND xã Nghĩa Hành"
    add_system(session, OPERATOR, organ_id="000.03.01.H48", name="UBND xã Mới")
    assert session.get(Organization, "000.03.01.H48").name == "UBND xã Mới"


def test_cli_seed_export_and_import(tmp_path, monkeypatch):
    monkeypatch.setenv("DOCSVC_DATA_DIR", str(tmp_path / "var"))
    monkeypatch.delenv("DOCSVC_DATABASE_URL", raising=False)
    monkeypatch.delenv("DOCSVC_BLOB_BACKEND", raising=False)
    runner = CliRunner()
    assert runner.invoke(main, ["init"], catch_exceptions=False).exit_code == 0
    seeded = runner.invoke(main, ["directory", "seed-demo"], catch_exceptions=False)
    assert seeded.exit_code == 0 and "created" in seeded.output
    exported = runner.invoke(main, ["directory", "export"], catch_exceptions=False)
    rows = json.loads(exported.stdout)["organizations"]
    assert any(r["organ_id"] == "000.00.00.H48" for r in rows)
    csv_file = tmp_path / "dir.csv"
    csv_file.write_text("organ_id,name,parent_id,address\n000.04.01.H48,UBND xã C,000.00.00.H48,C\n",
                        encoding="utf-8")
    imported = runner.invoke(main, ["directory", "import", str(csv_file)], catch_exceptions=False)
    assert imported.exit_code == 0 and "1 created" in imported.output
    as_csv = runner.invoke(main, ["directory", "export", "--format", "csv"], catch_exceptions=False)
    assert "000.04.01.H48,UBND xã C,000.00.00.H48,C,,,,pull" in as_csv.stdout
    bad = tmp_path / "bad.json"
    bad.write_text('[{"organ_id": "x"}]', encoding="utf-8")
    refused = runner.invoke(main, ["directory", "import", str(bad)])
    assert refused.exit_code == 1 and "invalid_metadata" in refused.output
