"""Every third-party module docsvc imports at run time comes from a distribution its declared
dependencies bring in (not from the test extras): ``scripts/run`` installs without them, so a
missing declaration shows only on a fresh machine. Runs in a subprocess that imports every
docsvc module, then maps the loaded modules to their distributions."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib import metadata

from packaging.requirements import Requirement

_PROBE = r"""
import importlib, json, pkgutil, sys, sysconfig
import docsvc
for info in pkgutil.walk_packages(docsvc.__path__, "docsvc."):
    if ".migrations.versions" in info.name or info.name.endswith("__main__"):
        continue
    importlib.import_module(info.name)
roots = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
loaded = sorted({name.split(".")[0] for name, module in list(sys.modules.items())
                 if any(str(getattr(module, "__file__", "") or "").startswith(r) for r in roots)})
print(json.dumps(loaded))
"""


OPTIONAL = {
    "setuptools": "its _distutils_hack .pth hook loads into every interpreter",
    "pygments": "mako (alembic's templates) imports it only when it is installed",
    "brotli": "urllib3 and fonttools import it only when it is installed (locust brings it in tests)",
}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _closure(root: str) -> set[str]:
    """The distributions ``root`` needs at run time (its extras' requirements included only
    where a requirement asks for those extras)."""
    seen: set[tuple[str, frozenset[str]]] = set()
    names: set[str] = set()
    todo = [(root, frozenset())]
    while todo:
        name, extras = todo.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            continue  # a marker-excluded or optional dependency that is not installed
        names.add(_norm(dist.metadata["Name"]))
        for line in dist.requires or []:
            req = Requirement(line)
            wanted = [{"extra": e} for e in extras] or [{"extra": ""}]
            if req.marker is not None and not any(req.marker.evaluate(env) for env in wanted):
                continue
            todo.append((req.name, frozenset(req.extras)))
    return names


def test_runtime_imports_are_declared_dependencies():
    loaded = json.loads(subprocess.run([sys.executable, "-c", _PROBE], check=True,
                                       capture_output=True, text=True).stdout)
    owners = metadata.packages_distributions()
    allowed = _closure("docsvc")
    undeclared = {}
    for module in loaded:
        dists = {_norm(d) for d in owners.get(module, [])}
        if dists and not dists & allowed and not dists & set(OPTIONAL):
            undeclared[module] = sorted(dists)
    assert undeclared == {}, f"imported at run time but not a declared dependency: {undeclared}"
