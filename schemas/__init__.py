"""The edXML XSDs of the packages docsvc emits, installed as ``docsvc.schemas`` (setup.py maps
this folder there); ``docsvc.exchange.schema`` reads them with ``importlib.resources``."""
