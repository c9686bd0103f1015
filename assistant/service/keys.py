"""Who may call the API: bearer keys from ASSISTANT_API_KEYS, compared in constant time.

Keys are needed on every API route (/v1/*, /mcp) when any are configured, when the chat
has a login (ASSISTANT_AUTH) or when the server listens on anything but a loopback address;
a server on 127.0.0.1 without a login and without keys is open, like the chat itself.
Only SHA-256 digests of the keys are kept in memory, and no key is ever logged or repeated
in a message. "@FILE" names a file of keys, one a line (blank lines and "#" comments are
skipped), read again whenever it changes, so a key is revoked without a restart.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import threading
from pathlib import Path

from ..config import Settings
from ..errors import AssistantError

log = logging.getLogger(__name__)


def is_loopback(host: str) -> bool:
    """True for 127.0.0.1, ::1 and localhost: only this machine can connect."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


class Keys:
    """The policy for one server: whether a key is required, and whether a request has one."""

    def __init__(self, settings: Settings) -> None:
        raw = settings.api_keys.get_secret_value() if settings.api_keys is not None else ""
        self._file = Path(raw[1:]).expanduser() if raw.startswith("@") else None
        self._digests: tuple[bytes, ...] = tuple(
            _digest(k.strip()) for k in raw.split(",") if k.strip()) if not self._file else ()
        self._stamp: tuple[int, int] | None = None
        self._lock = threading.Lock()
        if self._file is not None:
            if not self._file.is_file():
                raise AssistantError(f"ASSISTANT_API_KEYS names {self._file}, which is not a "
                                     "readable file of keys")
            self._reload()
        self.required = bool(raw) or settings.auth is not None or not is_loopback(settings.host)

    @property
    def configured(self) -> bool:
        """True when at least one key would be accepted."""
        self._reload()
        return bool(self._digests)

    def _reload(self) -> None:
        """Read the file of keys again when its size or modification time changed."""
        if self._file is None:
            return
        try:
            st = self._file.stat()
            stamp = (st.st_mtime_ns, st.st_size)
            if stamp == self._stamp:
                return
            lines = self._file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            with self._lock:
                if self._digests or self._stamp is not None:
                    log.warning("cannot read the API keys file %s (%s): every key is refused",
                                self._file, type(exc).__name__)
                self._digests, self._stamp = (), None
            return
        keys = [s.strip() for s in lines if s.strip() and not s.lstrip().startswith("#")]
        with self._lock:
            self._digests, self._stamp = tuple(_digest(k) for k in keys), stamp

    def allows(self, authorization: str | None) -> bool:
        """True when no key is required, or `authorization` is "Bearer KEY" with a known KEY."""
        if not self.required:
            return True
        given = bearer(authorization)
        return given is not None and self.known(given)

    def known(self, key: str) -> bool:
        """True when `key` is one of ASSISTANT_API_KEYS.

        Every known key is compared (hmac.compare_digest on digests of equal length), so the
        time taken says nothing about which key, or how much of one, matched.
        """
        self._reload()
        digest = _digest(key)
        found = False
        for known in self._digests:
            found |= hmac.compare_digest(digest, known)
        return found


def bearer(authorization: str | None) -> str | None:
    """The KEY of an `Authorization: Bearer KEY` header (None: no such header)."""
    scheme, _, given = (authorization or "").strip().partition(" ")
    given = given.strip()
    return given if scheme.lower() == "bearer" and given else None
