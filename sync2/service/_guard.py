"""The gate in front of the admin API: the bearer token and the body size, before any work.

A plain ASGI middleware, outside FastAPI, because FastAPI reads and parses a request's body
before it runs a route's dependencies: a check done in a dependency comes too late to stop an
unauthenticated caller from making the service read (and hold) a large body. Here a protected
request without a valid token is answered 401 from its headers alone, and a body larger than
the limit is refused with 413, from its ``Content-Length`` or, when it is streamed, as soon as
the bytes read pass the limit. The caller's role is still checked per route (``require``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from ._auth import Principal, TokenAuth
from ._http import PREFIX, error_response

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: The largest request body accepted; the API's bodies are a few hundred bytes.
MAX_BODY_BYTES = 1024 * 1024
#: Paths that need a token; ``/healthz`` stays open for load balancers and probes.
PROTECTED = (PREFIX + "/", "/metrics", "/openapi.json", "/docs")
#: Where the authenticated caller is left for the routes' role check.
PRINCIPAL_KEY = "sync2.principal"


def is_protected(path: str) -> bool:
    """True for the paths that need a token.

    >>> is_protected("/api/openmrs-sync/status"), is_protected("/healthz")
    (True, False)
    """
    return any(path == p.rstrip("/") or path.startswith(p) for p in PROTECTED)


def identify(auth: TokenAuth | None, headers: list[tuple[bytes, bytes]]) -> Principal | str:
    """The caller named by the ``Authorization`` header, or why there is none."""
    if auth is None:  # --insecure-local on loopback
        return Principal("admin", "local")
    header = next((v for k, v in headers if k == b"authorization"), b"").decode("latin-1")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return "missing bearer token: send 'Authorization: Bearer <token>'"
    return auth.identify(token.strip()) or "invalid bearer token"


def _content_length(headers: list[tuple[bytes, bytes]]) -> int | None:
    raw = next((v for k, v in headers if k == b"content-length"), None)
    return int(raw) if raw is not None and raw.isdigit() else None


class Guard:
    """Refuse unauthenticated and oversized requests before the app reads their bodies."""

    def __init__(
        self, app: ASGIApp, *, auth: TokenAuth | None, max_body: int = MAX_BODY_BYTES
    ) -> None:
        self.app = app
        self.auth = auth
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers") or []
        if is_protected(scope["path"]):
            found = identify(self.auth, headers)
            if isinstance(found, str):
                challenge = (
                    "Bearer" if found.startswith("missing") else 'Bearer error="invalid_token"'
                )
                response = error_response(
                    401, "unauthorized", found, {"WWW-Authenticate": challenge}
                )
                await response(scope, receive, send)
                return
            scope[PRINCIPAL_KEY] = found
        length = _content_length(headers)
        if length is not None and length > self.max_body:
            await self._too_large(scope, receive, send)
            return
        await self._limited(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = f"request body larger than {self.max_body} bytes"
        await error_response(413, "too_large", message)(scope, receive, send)

    async def _limited(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Run the app, cutting a streamed body off at the limit and answering 413 for it."""
        seen = 0
        over = False
        started = False

        async def _receive() -> Message:
            nonlocal seen, over
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_body:
                    over = True
                    return {"type": "http.disconnect"}
            return message

        async def _send(message: Message) -> None:
            nonlocal started
            if over and not started:  # the app's answer to a cut body is replaced by ours
                started = True
                await self._too_large(scope, receive, send)
                return
            if over:
                return
            started = True
            await send(message)

        await self.app(scope, _receive, _send)
