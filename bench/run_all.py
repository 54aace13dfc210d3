"""Run every benchmark of issue 15's table and the load test; write one Markdown table of
docsvc's figures next to the baselines measured in the same run.

Each benchmark runs as its own process (they start servers of their own) and prints its
figures; this script reads them, so the table and the scripts cannot drift apart: ``--smoke``
(tiny sizes, a few seconds of load, no timing asserted) is run by the test suite and fails when
a figure is missing.

Run: bench/run_all [--smoke] [--out results.md] [--skip-load] [--skip-delivery]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
NUMBER = r"([\d.]+|nan)"


@dataclass(frozen=True)
class Row:
    """One line of the table: docsvc's figure, the baseline of the same run and the aim."""

    measure: str
    ours: str
    baseline: str
    ratio: str
    aim: str


class MissingFigureError(RuntimeError):
    """A benchmark did not print a figure the table needs (its output changed or it failed)."""


def _run(script: str, *args: str, timeout: float) -> str:
    started = time.monotonic()
    done = subprocess.run([sys.executable, str(HERE / script), *args], capture_output=True,
                          text=True, timeout=timeout, cwd=HERE.parent)
    took = time.monotonic() - started
    if done.returncode != 0:
        raise MissingFigureError(f"{script} failed ({done.returncode}): {done.stderr[-2000:]}")
    print(f"  {script} {' '.join(args)}: {took:.0f} s", file=sys.stderr)
    return done.stdout


def _find(pattern: str, text: str, what: str) -> re.Match[str]:
    found = re.search(pattern, text, re.MULTILINE)
    if found is None:
        raise MissingFigureError(f"no figure for {what!r} (pattern {pattern!r}) in:\n{text}")
    return found


def _ratio(ours: float, base: float) -> str:
    return f"{ours / base:.2f}×" if base else "–"


def signing_rows(smoke: bool) -> tuple[list[Row], str]:
    """Rows 1–4: in-process and HTTP signing against bare tuned pyHanko."""
    big = 1 if smoke else 20
    args = ["--quick", "--runs", "1" if smoke else "10", "--big-runs", "1" if smoke else "3",
            "--big-mb", str(big), "--rate-count", "4" if smoke else "60", "--threads", "4"]
    out = _run("bench_signing.py", *args, timeout=900)
    line = r"^{doc}\s+B-B\s+{n}ms\s+{n}ms\s+{n}ms\s+{n}ms"
    small = _find(line.format(doc="1-page notice", n=NUMBER), out, "1-page B-B")
    large = _find(line.format(doc=f"{big} MB PDF", n=NUMBER), out, f"{big} MB B-B")
    store = _find(rf"storing a signed {big} MB PDF durably.*: {NUMBER} ms", out, "store")
    rate = _find(rf"8 concurrent clients.*: {NUMBER} sig/s", out, "sig/s")
    b, c0, c = (float(small.group(i)) for i in (2, 3, 4))
    big_b, big_c = float(large.group(2)), float(large.group(4))
    stored = float(store.group(1))
    rows = [
        Row("sign 1-page B-B in-process (c0) vs bare tuned pyHanko (b)", f"{c0:.1f} ms",
            f"{b:.1f} ms", _ratio(c0, b), "≤ 0.5×"),
        Row("sign 1-page B-B over HTTP (c) vs in-process (c0)", f"{c:.1f} ms", f"{c0:.1f} ms",
            _ratio(c, c0), "≤ 1.3×"),
        Row("sign 1-page B-B over HTTP (c) vs bare tuned pyHanko (b)", f"{c:.1f} ms",
            f"{b:.1f} ms", _ratio(c, b), "(context)"),
        Row("signatures/s over HTTP, 2 workers × 4 threads, 8 clients",
            f"{float(rate.group(1)):.0f}/s", "–", "–", "≥ 100/s"),
        Row(f"sign {big} MB B-B over HTTP vs tuned + durable store", f"{big_c:.0f} ms",
            f"{big_b:.0f} + {stored:.0f} ms", _ratio(big_c, big_b + stored), "≤ 1.2×"),
    ]
    return rows, out


def verify_rows(smoke: bool) -> tuple[list[Row], str]:
    """Rows 5–6: /verify against bare pyHanko ``validate_pdf_signature``."""
    big = 1 if smoke else 20
    out = _run("bench_verify_api.py", "--skip-archive", "--rounds", "1" if smoke else "5",
               "--big-mb", str(big), timeout=900)
    rows = []
    for case, aim in (("1-page", "≤ 1.2×"), (f"{big} MB", "≤ 1.3×")):
        found = _find(rf"^{case}\s+raw\s+[\d.]+MB\s+{NUMBER} ms\s+{NUMBER} ms", out,
                      f"/verify {case}")
        api, bare = float(found.group(1)), float(found.group(2))
        rows.append(Row(f"/verify {case} (raw body) vs bare validate_pdf_signature",
                        f"{api:.1f} ms", f"{bare:.1f} ms", _ratio(api, bare), aim))
    return rows, out


def upload_rows(smoke: bool) -> tuple[list[Row], str]:
    """Rows 7–8: upload + register, and small uploads per second on both databases."""
    args = ["--postgres", "--big-mb", "1" if smoke else "20", "--rounds", "1" if smoke else "5",
            "--clients", "8", "--requests", "8" if smoke else "200"]
    out = _run("bench_upload.py", *args, timeout=900)
    small = _find(rf"^1-page\s+{NUMBER} ms\s+{NUMBER} ms", out, "upload 1-page")
    api, raw = float(small.group(1)), float(small.group(2))
    rows = [Row("upload + register 1-page, client-side time vs raw store write",
                f"{api:.1f} ms", f"{raw:.1f} ms", _ratio(api, raw), "≤ 4 ms")]
    for database, aim in (("PostgreSQL", "≥ 250/s"), ("SQLite", "≥ 150/s")):
        found = _find(rf"\({database}\): {NUMBER} upload\+register/s", out, database)
        rows.append(Row(f"small uploads+register/s, 8 clients ({database})",
                        f"{float(found.group(1)):.0f}/s", "–", "–", aim))
    return rows, out


def delivery_rows(smoke: bool) -> tuple[list[Row], str]:
    """Row 9: delivery between two instances against POSTing the packages directly."""
    args = ["--docs", "3" if smoke else "30", "--warmup", "1" if smoke else "4"]
    rows, outs = [], []
    for database, extra in (("SQLite, polling", []), ("PostgreSQL, LISTEN/NOTIFY", ["--postgres"])):
        out = _run("bench_delivery.py", *args, *extra, timeout=900)
        outs.append(out)
        ratio = _find(rf"^ratio:.*= {NUMBER}", out, "delivery ratio")
        p95 = _find(rf"p95 {NUMBER} s", out, "send -> delivered p95")
        rows += [Row(f"delivery between two instances vs direct POST ({database})",
                     ratio.group(1), "1.00", ratio.group(1), "≥ 0.9"),
                 Row(f"send → delivered p95 ({database})", f"{p95.group(1)} s", "–", "–",
                     "≤ 1 s")]
    if not smoke:  # one document every 1.5 s into an idle worker: how fast it wakes up
        for database, extra in (("SQLite, polling 0.5 s", []),
                                ("PostgreSQL, LISTEN/NOTIFY", ["--postgres"])):
            out = _run("bench_delivery.py", "--docs", "10", "--warmup", "2", "--spacing", "1.5",
                       *extra, timeout=900)
            outs.append(out)
            p95 = _find(rf"p95 {NUMBER} s", out, "send -> delivered p95 (idle)")
            rows.append(Row(f"send → delivered p95, one document at a time ({database})",
                            f"{p95.group(1)} s", "–", "–", "≤ 1 s"))
    return rows, "\n".join(outs)


def load_section(smoke: bool) -> str:
    """The load test (locust, PostgreSQL, moto_server S3) as Markdown."""
    sys.path.insert(0, str(HERE))
    from load_test import OPERATIONS, run_load

    result = run_load(users=3 if smoke else 50, seconds=5 if smoke else 120,
                      documents=5 if smoke else 100, to_sign=3 if smoke else 400,
                      every_task_first=smoke)
    for name in OPERATIONS:
        if name not in result.rows:
            raise MissingFigureError(f"the load test has no figure for {name!r}")
    return result.markdown()


def render(rows: list[Row], load: str | None, outputs: dict[str, str], smoke: bool) -> str:
    """Return the whole report as Markdown."""
    head = ["# docsvc benchmarks" + (" (smoke mode: tiny sizes, figures mean nothing)"
                                     if smoke else ""),
            "", f"{os.cpu_count()} CPUs; every baseline measured in the same run.", "",
            "| measure | docsvc | baseline (same run) | ratio | aim |",
            "|---|---:|---:|---:|---|"]
    head += [f"| {r.measure} | {r.ours} | {r.baseline} | {r.ratio} | {r.aim} |" for r in rows]
    if load:
        head += ["", "## Load test", "", load]
    head += ["", "## Raw output", ""]
    for name, text in outputs.items():
        head += [f"<details><summary>{name}</summary>", "", "```", text.strip(), "```", "",
                 "</details>", ""]
    return "\n".join(head)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--smoke", action="store_true",
                        help="tiny sizes and a few seconds of load: proves everything runs")
    parser.add_argument("--out", type=Path, help="write the Markdown here (also printed)")
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--skip-delivery", action="store_true")
    args = parser.parse_args(argv)
    rows: list[Row] = []
    outputs: dict[str, str] = {}
    parts = [("signing", signing_rows), ("verify", verify_rows), ("upload", upload_rows)]
    if not args.skip_delivery:
        parts.append(("delivery", delivery_rows))
    for name, part in parts:
        part_rows, out = part(args.smoke)
        rows += part_rows
        outputs[name] = out
    load = None if args.skip_load else load_section(args.smoke)
    report = render(rows, load, outputs, args.smoke)
    if args.out:
        args.out.write_text(report + "\n", encoding="utf-8")
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
