"""Benchmark: docsvc.verify.validate_pdf against bare pyHanko validate_pdf_signature on a
1-page and a ~20 MB signed PDF, in the same run. Prints medians and ratios only.
"""

from __future__ import annotations

import importlib.util
import statistics
import sys
import tempfile
import time
from io import BytesIO
from pathlib import Path

from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko_certvalidator import ValidationContext

from docsvc.verify import load_trust, validate_pdf

ROOT = Path(__file__).resolve().parents[1]


def _kit():
    path = ROOT / "tests" / "unit" / "verify" / "conftest.py"
    spec = importlib.util.spec_from_file_location("verify_test_kit", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def _interleaved(funcs: dict[str, object], runs: int) -> dict[str, list[float]]:
    """Time each function ``runs`` times, alternating them so that they share the machine's
    noise (the benchmark host is shared): round i runs every function once."""
    times: dict[str, list[float]] = {name: [] for name in funcs}
    for _ in range(runs):
        for name, func in funcs.items():
            start = time.perf_counter()
            func()
            times[name].append(time.perf_counter() - start)
    return times


def main() -> None:
    """Run the benchmark and print the figures."""
    kit = _kit()
    with tempfile.TemporaryDirectory() as tmp:
        pki = kit.build_pki(Path(tmp))
        trust = load_trust([pki.trust_dir()])
        cases = {
            "1-page": pki.sign(kit.make_pdf()),
            "20 MB": pki.sign(kit.make_pdf(padding=20 * 1024 * 1024)),
        }
        for name, pdf in cases.items():
            runs = 31 if name == "1-page" else 11

            def ours(pdf=pdf):
                validate_pdf(pdf, trust)

            def bare(pdf=pdf):
                reader = PdfFileReader(BytesIO(pdf), strict=False)
                vc = ValidationContext(trust_roots=[pki.root.asn1_cert])
                validate_pdf_signature(reader.embedded_signatures[0], vc)

            ours()
            bare()
            times = _interleaved({"ours": ours, "bare": bare}, runs)
            t_ours, t_bare = statistics.median(times["ours"]), statistics.median(times["bare"])
            pairwise = statistics.median(o / b for o, b in zip(times["ours"], times["bare"],
                                                                strict=True))
            print(f"{name:7} ({len(pdf) / 1e6:6.2f} MB): validate_pdf {t_ours * 1000:8.1f} ms, "
                  f"bare pyHanko {t_bare * 1000:8.1f} ms, ratio {t_ours / t_bare:4.2f}x "
                  f"(median of {runs}, interleaved; median per-round ratio {pairwise:4.2f}x)")


if __name__ == "__main__":
    main()
