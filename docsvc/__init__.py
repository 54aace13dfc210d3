"""docsvc: keep, sign and exchange official documents of a Vietnamese province and its communes."""

import warnings as _warnings

from cryptography.utils import CryptographyDeprecationWarning as _CryptographyDeprecationWarning

# pyHanko imports cryptography's DSA key class to recognise DSA keys; cryptography >= 46 warns on
# that import. docsvc never makes DSA keys: this one message is silenced, every other stays.
_warnings.filterwarnings("ignore", message="DSA is deprecated", category=_CryptographyDeprecationWarning)

__version__ = "0.1.0"
