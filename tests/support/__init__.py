"""What the tests share, imported by conftests and tests alike (never a conftest from another
folder): the test data (``data``), loopback helpers (``net``), the PKI builder (``pki``), the
PDF makers (``pdf``), the signing fixtures over the served demo PKI (``signing``) and the
worlds: exchange parties and two docsvc instances (``worlds``)."""
