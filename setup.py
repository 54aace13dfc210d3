"""Ship the top-level ``schemas/`` folder, the one source of the edXML XSDs, as the package
``docsvc.schemas`` (read with ``importlib.resources``); everything else is in pyproject.toml.

A mapping, not a copy: a wheel carries the files and an editable install reads them in place.
"""

from setuptools import find_namespace_packages, setup

setup(
    packages=[*find_namespace_packages(include=["docsvc", "docsvc.*"]), "docsvc.schemas"],
    package_dir={"docsvc.schemas": "schemas"},
)
