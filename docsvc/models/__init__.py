"""SQLAlchemy 2.0 models, one module per area, all on one ``Base`` (one schema, one migration
history). Import models from here: ``from docsvc.models import Document``.
"""

# Each area module lists its public names in __all__.
from docsvc.models.axis import *  # noqa: F403
from docsvc.models.exchange import *  # noqa: F403
from docsvc.models.identity import (  # noqa: F401
    ROLES,
    SECRECY_ORDER,
    ApiToken,
    AuditAnchor,
    AuditEntry,
    AuditHead,
    LinkedSystem,
    LoginThrottle,
    Organization,
    User,
    WebSession,
)
from docsvc.models.reading import *  # noqa: F403
from docsvc.models.registry import (  # noqa: F401
    DIRECTIONS,
    NAMING,
    REGISTERS,
    SECRECY_LEVELS,
    VERSION_KINDS,
    Base,
    Document,
    DocumentVersion,
    RegisterCounter,
    RegisterEntry,
    UTCDateTime,
    format_code_number,
    new_id,
    register_for,
    utcnow,
)
from docsvc.models.signing import *  # noqa: F403
from docsvc.models.verification import *  # noqa: F403
