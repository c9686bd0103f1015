"""A real OpenID Connect provider (oidc-provider-mock) on a free loopback port, for the tests."""

from __future__ import annotations

import contextlib
import json
import threading
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass


@dataclass
class Provider:
    issuer: str  # http://127.0.0.1:PORT, as its discovery document says

    def register(self, redirect_uri: str) -> tuple[str, str]:
        """A client registered for `redirect_uri` (RFC 7591): its id and secret."""
        body = json.dumps({"redirect_uris": [redirect_uri]}).encode()
        req = urllib.request.Request(self.issuer + "/oauth2/clients", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            client = json.load(r)
        return client["client_id"], client["client_secret"]


@contextlib.contextmanager
def provider(users: dict[str, dict[str, object]]) -> Iterator[Provider]:
    """Serve a provider in a thread; `users` maps each subject to its claims.

    Clients must be registered (with their redirect URIs and secrets, which it then checks)
    and send a nonce. It listens on 127.0.0.1, not "localhost": the test browser resolves
    nothing but 127.0.0.1.
    """
    from oidc_provider_mock import User, app
    from werkzeug.serving import make_server

    wsgi = app(require_client_registration=True, require_nonce=True,
               user_claims=[User(sub=sub, claims=claims) for sub, claims in users.items()])
    server = make_server("127.0.0.1", 0, wsgi, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              daemon=True)
    thread.start()
    try:
        yield Provider(f"http://127.0.0.1:{server.server_port}")
    finally:
        server.shutdown()
        thread.join(5)
        server.server_close()
