"""The conversation kept in the browser, sealed by the server: the browser holds it, cannot read it.

gr.BrowserState encrypts in the browser with a `secret` that Gradio sends to every
client in the page's config, so that secret protects nothing. Here the server
seals the conversation it hands to the browser (Fernet: AES with an
authentication tag, from `cryptography`) with a key that never leaves it; the
browser keeps an opaque token in localStorage and sends it back with each event,
and the server opens it. A token that was changed, or sealed with another key,
opens as nothing (an empty conversation). No Gradio here: the controller seals
and opens (a subclass of BrowserState would make Gradio write a .pyi stub into
this package at import).
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import zlib
from typing import Any

log = logging.getLogger(__name__)

# The browser-side secret gr.BrowserState needs: public (it is in the page's config), so a
# fixed word; the protection is the seal.
PUBLIC_SECRET = "sealed-by-the-server"


class Seal:
    """Seals JSON values into tokens only this server can open (and tell apart from forgeries)."""

    def __init__(self, secret: str) -> None:
        from cryptography.fernet import Fernet

        digest = hashlib.sha256(b"assistant conversation seal\0" + secret.encode("utf-8"))
        self._fernet = Fernet(base64.urlsafe_b64encode(digest.digest()))

    def close(self, value: Any) -> str:
        """`value` (JSON-able) as a token: compressed, encrypted and authenticated."""
        data = zlib.compress(json.dumps(value, ensure_ascii=False).encode("utf-8"))
        return self._fernet.encrypt(data).decode("ascii")

    def open(self, token: Any) -> Any:
        """The value sealed in `token`; None for anything this server did not seal."""
        from cryptography.fernet import InvalidToken

        if not isinstance(token, str) or not token:
            return None
        try:
            return json.loads(zlib.decompress(self._fernet.decrypt(token.encode("ascii"))))
        except (InvalidToken, ValueError, zlib.error):
            log.info("a conversation sent back by a browser did not open; starting afresh")
            return None
