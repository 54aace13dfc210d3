"""Reading notices, measured: extraction accuracy per field (text PDFs and OCR'd scans),
extraction time, OCR seconds per page, search p95 and indexing throughput on SQLite and
PostgreSQL — each against a baseline measured in the same run (the machine is shared).

    .venv/bin/python bench/bench_extract.py [--notices 36] [--scans 6] [--docs 20000]
        [--queries 200] [--no-postgres] [--only extract|scan|search]

Scans are OCR'd once and cached in the temporary folder (keyed by the generator's source), so
a later run with more ``--scans`` only OCRs the new ones. Baselines: for extraction, reading
the same pages' raw text with pypdfium2; for search, the registry's former LIKE scan over the
folded metadata (``documents.search_text``) on the same database.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from docsvc.extract import extract_metadata  # noqa: E402
from tests.notices import (  # noqa: E402
    DIRECTORY,
    FIELDS,
    corpus,
    expected,
    extracted_values,
    make_notice,
    render_pdf,
    render_scan,
)

PG_URL = os.environ.get("DOCSVC_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def _same(want, got) -> bool:  # type: ignore[no-untyped-def]
    return (want or None) == (got or None)


def _accuracy(rows: list[tuple[dict, dict]]) -> dict[str, float]:
    return {f: sum(_same(w.get(f), g.get(f)) for w, g in rows) / len(rows) for f in FIELDS}


def _pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def bench_text(n: int) -> None:
    import pypdfium2 as pdfium

    notices = corpus(n)
    pdfs = [render_pdf(x) for x in notices]
    rows, times = [], []
    for notice, pdf in zip(notices, pdfs, strict=True):
        start = time.perf_counter()
        found = extract_metadata(pdf, directory=DIRECTORY)
        times.append((time.perf_counter() - start) * 1000)
        rows.append((expected(notice, scan=False), extracted_values(found.fields)))
    print(f"\n== text PDFs: {n} generated notices ({len({x.truth['type_name'] for x in notices})} types)")
    for field, share in _accuracy(rows).items():
        print(f"  {field:18s} {share:6.1%}")
    print(f"  extraction per notice: median {statistics.median(times):.1f} ms, p95 {_pct(times, 95):.1f} ms")
    five = render_pdf(make_notice(3), extra_pages=3)  # 5 pages
    extract_metadata(five)
    runs, base = [], []
    for _ in range(30):
        start = time.perf_counter()
        extract_metadata(five, directory=DIRECTORY)
        runs.append(time.perf_counter() - start)
        start = time.perf_counter()
        doc = pdfium.PdfDocument(five)
        for page in doc:
            page.get_textpage().get_text_range()
        doc.close()
        base.append(time.perf_counter() - start)
    e, b = statistics.median(runs) * 1000, statistics.median(base) * 1000
    print(f"  5-page notice: extraction {e:.1f} ms (goal <= 100 ms); baseline raw text of all pages "
          f"{b:.1f} ms; ratio {e / b:.2f}")


def bench_scans(k: int) -> None:
    from docsvc.ocr import make_searchable, unavailable_reason

    why = unavailable_reason("vie")
    if why:
        print(f"\n== scans: skipped ({why})")
        return
    source_hash = hashlib.sha256(Path(sys.modules["tests.notices"].__file__).read_bytes()).hexdigest()[:12]
    cache = Path(tempfile.gettempdir()) / f"docsvc-scans-{source_hash}"
    cache.mkdir(exist_ok=True)
    rows, seconds, pages = [], 0.0, 0
    extract_times = []
    for i in range(k):
        notice = make_notice(i)
        out = cache / f"{i}.ocr.pdf"
        if not out.exists():
            src = cache / f"{i}.scan.pdf"
            src.write_bytes(render_scan(render_pdf(notice, stamp=True), seed=i))
            result = make_searchable(src, out, page_count=notice.pages)
            if not result.ok:
                print(f"  scan {i}: {result.reason} {result.detail}")
                continue
            seconds += result.seconds
            pages += result.pages
        start = time.perf_counter()
        found = extract_metadata(str(out), directory=DIRECTORY, source_kind="ocr")
        extract_times.append((time.perf_counter() - start) * 1000)
        rows.append((expected(notice, scan=True), extracted_values(found.fields)))
    print(f"\n== scans: {len(rows)} notices rendered at 200 dpi with noise and skew (±1.2°), "
          f"OCR'd with ocrmypdf + tesseract vie")
    for field, share in _accuracy(rows).items():
        print(f"  {field:18s} {share:6.1%}")
    if pages:
        print(f"  OCR: {seconds / pages:.1f} s/page over {pages} new pages (1 core, --jobs 1)")
    else:
        print("  OCR: all scans came from the cache (delete it to time OCR again)")
    print(f"  extraction on the OCR'd PDF: median {statistics.median(extract_times):.1f} ms")


WORDS = ("cải cách hành chính văn bản điện tử chữ ký số thủ tục đất đai tài nguyên khoáng sản "
         "thiên tai bão lũ phòng chống cứu nạn ngân sách đầu tư công giáo dục y tế giao thông "
         "nông thôn mới chuyển đổi số an toàn thông tin thi đua khen thưởng tổ chức cán bộ "
         "kiểm tra thanh tra tiếp công dân khiếu nại tố cáo dân số môi trường rác thải nước sạch "
         "hội nghị tổng kết kế hoạch báo cáo quý năm tháng tuần xã phường huyện tỉnh sở ban ngành "
         "đề nghị thực hiện triển khai hướng dẫn quy định theo căn cứ nghị định thông tư quyết định "
         "Tịnh Ấn Nghĩa Hà Quảng Ngãi Bình Định Đà Nẵng Huế Hà Tĩnh Sơn Tịnh Mộ Đức Đức Phổ").split()
def _vocabulary() -> tuple[list[str], list[float]]:
    # Real words mixed into ~6,000 made-up syllables, drawn with Zipf weights (rank^-1), so a
    # query word occurs in some documents, not in all of them as with a small word list.
    rnd = random.Random(7)
    onsets = "b c ch d đ g gh h k kh l m n ng nh p ph qu r s t th tr v x".split()
    rhymes = ("a ai am an ang anh ao au ay e em en eng ich iêm iên inh oa oai oan oc ôi ông ơn u ui um "
              "un ung uyên ưa ưng ươc").split()
    tones = ["", "\u0300", "\u0301", "\u0303", "\u0309", "\u0323"]
    import unicodedata

    made = {unicodedata.normalize("NFC", o + r[0] + t + r[1:]) for o in onsets for r in rhymes for t in tones}
    words = sorted(made - set(WORDS))
    rnd.shuffle(words)
    words = words[:6000]
    for word in WORDS:
        words.insert(rnd.randrange(len(words)), word)
    total, cumulative = 0.0, []
    for rank in range(len(words)):
        total += 1.0 / (rank + 1)
        cumulative.append(total)
    return words, cumulative


VOCABULARY, WEIGHTS = _vocabulary()
TYPES = (("Thông báo", "TB"), ("Quyết định", "QĐ"), ("Công văn", None), ("Tờ trình", "TTr"),
         ("Kế hoạch", "KH"), ("Báo cáo", "BC"))


def _fake(i: int, rnd: random.Random) -> tuple[dict, str]:
    type_name, abbr = TYPES[i % len(TYPES)]
    number = str(1 + i % 3000).zfill(2)
    notation = f"{abbr}-UBND" if abbr else "UBND-VP"
    subject = "Về việc " + " ".join(rnd.choices(VOCABULARY, cum_weights=WEIGHTS, k=10))
    body = ". ".join(" ".join(rnd.choices(VOCABULARY, cum_weights=WEIGHTS, k=18)) for _ in range(12))
    if i % 997 == 0:
        body += " Thông báo số 185/TB-UBND về cải cách hành chính."
    doc = {"id": str(uuid.UUID(int=rnd.getrandbits(128))), "direction": "outgoing" if i % 3 else "incoming",
           "owner_organ_id": "000.00.00.H48", "status": "registered",
           "organ_id": "000.00.00.H48" if i % 4 else "000.00.53.H48", "organ_name": "UBND tỉnh Quảng Ngãi",
           "type_name": type_name, "type_abbr": abbr, "code_number": number, "code_notation": notation,
           "issued_date": dt.date(2018 + i % 7, 1 + i % 12, 1 + i % 28), "subject": subject,
           "priority": 0, "secrecy": "none", "recipients": [], "to_places": [], "references": [],
           "search_text": "", "created_at": dt.datetime(2024, 1, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=i),
           "updated_at": dt.datetime(2024, 1, 1, tzinfo=dt.UTC)}
    return doc, body


def bench_search(url: str, name: str, n: int, queries: int) -> None:
    from sqlalchemy import insert, text

    from docsvc.db import make_engine, make_session_factory, upgrade
    from docsvc.metadata import search_text
    from docsvc.models import Document
    from docsvc.search import index_form
    from docsvc.security import Actor
    from docsvc.services.documents import DocumentQuery, list_documents
    from docsvc.services.search import SearchQuery, metadata_text, put_text, search_documents

    engine = make_engine(url, timeout_seconds=30)
    upgrade(engine)
    sessions = make_session_factory(engine)
    rnd = random.Random(12)
    pg = engine.dialect.name == "postgresql"
    # 1. Indexing throughput through the service (put_text: row + index), on a sample.
    sample = 300
    with sessions() as session:
        docs = [_fake(i, rnd) for i in range(sample)]
        for doc, _ in docs:
            doc["search_text"] = search_text(doc["subject"], doc["code_number"], doc["code_notation"])
        session.execute(insert(Document), [d for d, _ in docs])
        session.commit()
        start = time.perf_counter()
        for doc, body in docs:
            put_text(session, doc["id"], 1, "text", body)
        session.commit()
        service_rate = sample / (time.perf_counter() - start)
    # 2. Bulk load the rest (same tokens, one statement per batch); PostgreSQL builds its GIN
    # index once afterwards, as one would for a first import.
    if pg:
        with engine.begin() as conn:
            conn.execute(text("DROP INDEX ix_document_texts_tsv"))
    start = time.perf_counter()
    next_id = 10_000_000
    for first in range(sample, n, 2000):
        batch = [_fake(i, rnd) for i in range(first, min(n, first + 2000))]
        for doc, _ in batch:
            doc["search_text"] = search_text(doc["subject"], doc["code_number"], doc["code_notation"])
        with sessions() as session:
            session.execute(insert(Document), [d for d, _ in batch])
            rows = []
            for doc, body in batch:
                meta = metadata_text(Document(**{k: v for k, v in doc.items()}))
                for version, content in ((0, meta), (1, body)):
                    next_id += 1
                    rows.append({"id": next_id, "d": doc["id"], "v": version, "c": content,
                                 "b": index_form(content), "s": "metadata" if version == 0 else "text"})
            if pg:
                session.execute(text("INSERT INTO document_texts (id, document_id, version_number, source, "
                                     "content, tsv, indexed_at) VALUES (:id, :d, :v, :s, :c, "
                                     "to_tsvector('docsvc_vi', :b), now())"), rows)
            else:
                session.execute(text("INSERT INTO document_texts (id, document_id, version_number, source, "
                                     "content, indexed_at) VALUES (:id, :d, :v, :s, :c, CURRENT_TIMESTAMP)"),
                                rows)
                session.execute(text("INSERT INTO document_text_fts(rowid, body, document_id) "
                                     "VALUES (:id, :b, :d)"), rows)
            session.commit()
    gin = 0.0
    if pg:
        started = time.perf_counter()
        with engine.begin() as conn:
            conn.execute(text("CREATE INDEX ix_document_texts_tsv ON document_texts USING gin (tsv)"))
            conn.execute(text("ANALYZE"))
        gin = time.perf_counter() - started
    bulk_rate = (n - sample) / (time.perf_counter() - start) if n > sample else 0.0
    clerk = Actor(kind="user", name="vt", organ_id="000.00.00.H48", roles=frozenset({"clerk"}))
    words = ["185", "185/TB-UBND", "cai cach hanh chinh", "chuyen doi so", "Tịnh Ấn", "khieu nai to cao",
             "bao lu", "ngan sach dau tu cong"]
    cases = []
    for i in range(queries):
        q = words[i % len(words)]
        filters = {}
        if i % 3 == 1:
            filters = {"type_name": "TB", "direction": "outgoing"}
        elif i % 3 == 2:
            filters = {"issued_from": dt.date(2020, 1, 1), "issued_to": dt.date(2021, 12, 31)}
        cases.append((q, filters))
    fts, like = [], []
    with sessions() as session:
        search_documents(session, SearchQuery(q="185"), clerk)
        for q, filters in cases:
            start = time.perf_counter()
            search_documents(session, SearchQuery(q=q, **filters), clerk)
            fts.append((time.perf_counter() - start) * 1000)
        for q, filters in cases[: max(20, queries // 5)]:
            start = time.perf_counter()
            list_documents(session, DocumentQuery(q=q, limit=20, **filters), clerk)
            like.append((time.perf_counter() - start) * 1000)
        found = search_documents(session, SearchQuery(q="185/TB-UBND"), clerk)
    engine.dispose()
    print(f"\n== search on {name}: {n} documents ({2 * n} indexed texts, ~1.5 kB of body each)")
    print(f"  indexing: {service_rate:.0f} texts/s through the service (row + index, {sample} texts); "
          f"{bulk_rate:.0f} documents/s bulk-loaded (metadata + body"
          + (f", GIN index built in {gin:.1f} s)" if pg else ")"))
    print(f"  full text: p50 {_pct(fts, 50):.1f} ms, p95 {_pct(fts, 95):.1f} ms over {len(fts)} queries "
          f"(goal p95 <= 50 ms); '185/TB-UBND' -> {len(found)} hits")
    print(f"  baseline LIKE scan of metadata (old q=): p50 {_pct(like, 50):.1f} ms, "
          f"p95 {_pct(like, 95):.1f} ms; "
          f"ratio p95 {_pct(fts, 95) / max(_pct(like, 95), 0.001):.2f}")


def _peak_rss_of(code: str) -> float:
    """Run ``code`` in a fresh interpreter; return its peak resident memory in MB."""
    import subprocess

    out = subprocess.run([sys.executable, "-c", code + "\nimport resource, sys\n"
                          "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"],
                         capture_output=True, text=True, check=True, cwd=Path(__file__).resolve().parents[1])
    return int(out.stdout.split()[-1]) / 1024


def bench_memory() -> None:
    from io import BytesIO

    import pypdfium2 as pdfium

    folder = Path(tempfile.mkdtemp(prefix="docsvc-bench-mem-"))
    first = pdfium.PdfDocument(render_scan(render_pdf(make_notice(0)), dpi=100))
    page = first[0].render(scale=100 / 72, grayscale=True).to_pil().convert("L")
    first.close()
    for count in (30, 300):
        out = BytesIO()
        page.save(out, format="PDF", resolution=100, save_all=True, append_images=[page] * (count - 1))
        (folder / f"scan{count}.pdf").write_bytes(out.getvalue())
    code = ("import sys; sys.path.insert(0, '.')\n"
            "from docsvc.extract import extract_metadata\nfrom docsvc.services.search import page_text\n"
            "path = sys.argv[-1] if False else {path!r}\n"
            "e = extract_metadata(path); t = page_text(path)\n")
    base = _peak_rss_of("import sys; sys.path.insert(0, '.')\nimport docsvc.extract, docsvc.services.search")
    rows = []
    for count in (30, 300):
        path = folder / f"scan{count}.pdf"
        rows.append((count, path.stat().st_size / 1e6, _peak_rss_of(code.format(path=str(path)))))
    print(f"\n== memory, image-only scans (extraction + page-by-page text for the index); "
          f"baseline interpreter with the modules {base:.0f} MB")
    for count, size, peak in rows:
        print(f"  {count:4d} pages ({size:5.1f} MB file): peak {peak:.0f} MB (+{peak - base:.0f} MB)")
    print(f"  ratio 300/30 pages of the extra memory: {(rows[1][2] - base) / max(rows[0][2] - base, 1):.2f}")
    from docsvc.ocr import make_searchable, unavailable_reason

    if unavailable_reason("vie") is None:
        target = folder / "scan300.ocr.pdf"
        result = make_searchable(folder / "scan300.pdf", target, page_count=300, max_pages=2)
        print(f"  OCR of the 300-page scan bounded to 2 pages: {result.ok} {result.reason or ''} "
              f"{result.pages} pages in {result.seconds:.1f} s")
    import shutil

    shutil.rmtree(folder, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--notices", type=int, default=36)
    parser.add_argument("--scans", type=int, default=6)
    parser.add_argument("--docs", type=int, default=20000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--only", choices=["extract", "scan", "search", "memory"])
    args = parser.parse_args()
    if args.only in (None, "extract"):
        bench_text(args.notices)
    if args.only in (None, "scan"):
        bench_scans(args.scans)
    if args.only in (None, "memory"):
        bench_memory()
    if args.only in (None, "search"):
        with tempfile.TemporaryDirectory() as tmp:
            bench_search(f"sqlite:///{tmp}/bench.sqlite3", "SQLite FTS5", args.docs, args.queries)
        if not args.no_postgres:
            from sqlalchemy import create_engine, text

            schema = f"bench_{uuid.uuid4().hex[:8]}"
            admin = create_engine(PG_URL, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            try:
                sep = "&" if "?" in PG_URL else "?"
                bench_search(f"{PG_URL}{sep}options=-csearch_path%3D{schema}", "PostgreSQL (unaccent)",
                             args.docs, args.queries)
            finally:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()


if __name__ == "__main__":
    main()
