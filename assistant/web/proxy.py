"""Sign-in by a reverse proxy: a header names the user, believed only from trusted addresses.

Set ASSISTANT_TRUSTED_PROXIES to the proxies' addresses (or networks, 10.0.0.0/24); a
request from anywhere else has its ASSISTANT_PROXY_USER_HEADER ignored, so nobody can
claim a name by sending the header themselves. The user is made on first sight (source
"proxy"); ASSISTANT_PROXY_GROUPS_HEADER, when the proxy sends it, sets their groups.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING

from ..team import Team, TeamError

if TYPE_CHECKING:
    from starlette.requests import Request


def trusted(address: str, proxies: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    for item in proxies.split(","):
        item = item.strip()
        if not item:
            continue
        try:
            if ip in ipaddress.ip_network(item, strict=False):
                return True
        except ValueError:
            continue
    return False


def proxy_user(team: Team, request: Request, address: str) -> str | None:
    """The user the proxy names, when `address` is a trusted proxy and it names one."""
    s = team.settings
    if not s.trusted_proxies or not trusted(address, s.trusted_proxies):
        return None
    name = request.headers.get(s.proxy_user_header, "").strip()
    if not name:
        return None
    try:
        if team.accounts.user(name) is None:
            team.accounts.ensure_user(name, "proxy")
            team.audit.record(name, "login", address=address, method="proxy")
    except TeamError:
        return None  # a name we cannot hold: nobody
    groups = request.headers.get(s.proxy_groups_header)
    if groups is not None:
        wanted = sorted({g.strip() for g in groups.split(",") if g.strip()})
        user = team.accounts.user(name)
        if user is not None and list(user.groups) != wanted:
            team.accounts.set_groups(name, wanted)
    return name
