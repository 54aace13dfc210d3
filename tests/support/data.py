"""Test data: the province's notice metadata (Phụ lục VI) and people with API tokens."""

from __future__ import annotations

from docsvc.app import Runtime
from docsvc.security import Actor

PROVINCE_CLERK = Actor(kind="user", name="vanthu", organ_id="000.00.00.H48", roles=frozenset({"clerk"}))
"""A clerk of UBND tỉnh Quảng Ngãi, as the services see them."""

NOTICE_METADATA = {
    "direction": "outgoing",
    "organ_id": "000.00.00.H48",
    "organ_name": "UBND tỉnh Quảng Ngãi",
    "type_name": "Thông báo",
    "code_notation": "TB-UBND",
    "issued_date": "2018-06-19",
    "place": "Quảng Ngãi",
    "subject": "Kết luận của Chủ tịch UBND tỉnh về cải cách hành chính",
    "signer_competence": "KT.",
    "signer_position": "Phó Chánh Văn phòng",
    "signer_name": "Nguyễn Quốc Việt",
    "recipients": [{"organ_id": "000.00.53.H48", "organ_name": "Sở Nội vụ"}],
    "to_places": ["Như trên", "Lưu: VT"],
    "references": ["168/TB-UBND"],
    "priority": 1,
}


def make_user(runtime: Runtime, username: str, roles: list[str], organ_id: str = "000.00.00.H48",
              **kwargs) -> str:
    """Create a person and return a fresh API token of theirs."""
    from docsvc.security import OPERATOR
    from docsvc.services.identity import add_user, issue_token

    with runtime.sessions() as session:
        add_user(session, OPERATOR, username=username, roles=roles, organ_id=organ_id, **kwargs)
        token, _ = issue_token(session, OPERATOR, username=username)
    return token
