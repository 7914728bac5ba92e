"""The HTTP side of the faces: ``/ws/fhir2/R4/...`` and ``/ws/atomfeed/...`` on ``sync2 serve``.

Same tokens and roles as the admin API (admin or doctor may read), checked before anything else
is looked at. A token comes as ``Authorization: Bearer <token>``, or as the password of Basic
auth, so a child sync2 pulling this passport uses its ``username`` / ``password`` settings
unchanged. The token's name is who is calling: the rows of a source of that name (and rows that
came through it) are never served to it, so a passport pulling its own parent gets no echo.

Every error is an OperationOutcome with a 4xx status; every read of patient data is audited with
the passport patient's id hashed.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable, Coroutine
from typing import Any, Protocol
from urllib.parse import urlencode

import orjson
from fastapi import APIRouter, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from ..store import PassportStore
from ._audit import audit_read
from ._capability import capability_statement
from ._feed import render_page
from ._ips import summary_bundle
from ._parent import NoSuchPage, ParentFeed, UnknownCategory
from ._query import BadSearch, check_id, encode_cursor, parse_search
from ._reader import FhirReader, Gone, NotFound, Page
from ._resources import JSON, operation_outcome

FHIR_PATH = "/ws/fhir2/R4"
FEED_PATH = "/ws/atomfeed"
FHIR_JSON = "application/fhir+json"
READ_ROLES = ("admin", "doctor")


class Caller(Protocol):
    @property
    def role(self) -> str: ...

    @property
    def name(self) -> str: ...

    @property
    def actor(self) -> str: ...


class TokenLookup(Protocol):
    def identify(self, token: str) -> Caller | None: ...


class FhirError(Exception):
    """An answer other than 200: its status, OperationOutcome code and message."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers


def _outcome(exc: FhirError) -> JSONResponse:
    return JSONResponse(
        operation_outcome(exc.code, exc.message),
        status_code=exc.status,
        headers=exc.headers,
        media_type=FHIR_JSON,
    )


class FhirRoute(APIRoute):
    """Answers errors of this router (auth, bad input, not found) as OperationOutcomes, so the
    app's own envelope handlers are left to the admin API."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def _handle(request: Request) -> Response:
            try:
                return await handler(request)
            except FhirError as exc:
                return _outcome(exc)
            except RequestValidationError as exc:
                where = "; ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
                return _outcome(FhirError(400, "invalid", f"invalid request: {where}"))

        return _handle


def authenticate(request: Request, tokens: TokenLookup | None) -> Caller | None:
    """The caller, or a 401/403 FhirError. ``tokens`` None: ``--insecure-local`` (no caller).

    Returns None only in insecure-local mode; then nothing is left out as an echo.
    """
    if tokens is None:
        return None
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    token = ""
    if scheme.lower() == "bearer":
        token = value.strip()
    elif scheme.lower() == "basic":
        try:
            token = base64.b64decode(value.strip(), validate=True).decode().partition(":")[2]
        except (binascii.Error, UnicodeDecodeError):
            token = ""
    if not token:
        msg = "missing credentials: send 'Authorization: Bearer <token>'"
        raise FhirError(401, "login", msg, {"WWW-Authenticate": 'Bearer realm="sync2"'})
    caller = tokens.identify(token)
    if caller is None:
        raise FhirError(
            401, "login", "invalid token", {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        )
    if caller.role not in READ_ROLES:
        raise FhirError(403, "forbidden", f"role {caller.role!r} may not read the passport")
    return caller


def _actor(caller: Caller | None) -> str:
    return caller.actor if caller is not None else "admin:local"


def fhir_json(body: JSON, status: int = 200) -> Response:
    """A FHIR JSON answer, serialised with orjson (several times faster on large pages)."""
    return Response(orjson.dumps(body), status_code=status, media_type=FHIR_JSON)


def searchset(
    request: Request, query_type: str, page: Page, params: tuple[tuple[str, str], ...]
) -> JSON:
    base = _fhir_base(request)
    links = [{"relation": "self", "url": str(request.url)}]
    if page.next_key is not None:
        query = urlencode([*params, ("_cursor", encode_cursor(page.next_key))])
        links.append({"relation": "next", "url": f"{base}/{query_type}?{query}"})
    bundle: JSON = {"resourceType": "Bundle", "type": "searchset", "link": links}
    if page.total is not None:
        bundle["total"] = page.total
    bundle["entry"] = [
        {
            "fullUrl": f"{base}/{r['resourceType']}/{r['id']}",
            "resource": r,
            "search": {"mode": "match"},
        }
        for r in page.resources
    ]
    return bundle


def _fhir_base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + FHIR_PATH


class _Face:
    """The handlers of the FHIR face and the parent feed, over one store."""

    def __init__(
        self,
        store: PassportStore,
        hospitals: dict[str, str],
        tokens: TokenLookup | None,
        record_types: tuple[str, ...],
    ) -> None:
        self.store = store
        self.tokens = tokens
        self.record_types = record_types
        self.reader = FhirReader(store, hospitals)
        self.feed = ParentFeed(store, record_types)
        self.served_types = ("Patient", "Practitioner", "Location", "Provenance", *record_types)

    def _known_type(self, resource_type: str) -> None:
        if resource_type not in self.served_types:
            served = ", ".join(self.served_types)
            msg = f"unknown resource type {resource_type[:60]!r} (served: {served})"
            raise FhirError(404, "not-supported", msg)

    def metadata(self, request: Request) -> Response:
        return fhir_json(capability_statement(_fhir_base(request), self.record_types))

    def summary(self, rid: str, request: Request) -> Response:
        caller = authenticate(request, self.tokens)
        unknown = [k for k in request.query_params if k != "_format"]
        if unknown:
            raise FhirError(400, "not-supported", f"unknown parameter {unknown[0]!r} for $summary")
        try:
            pid, patients, records = self.reader.summary_parts(check_id("id", rid), _name(caller))
        except BadSearch as exc:
            raise FhirError(400, "invalid", str(exc)) from exc
        except NotFound as exc:
            raise FhirError(404, "not-found", f"no passport patient {rid[:64]!r}") from exc
        audit_read(self.store, _actor(caller), "FHIR Patient/$summary", {pid})
        return fhir_json(summary_bundle(pid, patients, records, _fhir_base(request)))

    def search(self, resource_type: str, request: Request) -> Response:
        caller = authenticate(request, self.tokens)
        self._known_type(resource_type)
        pairs = list(request.query_params.multi_items())
        try:
            query = parse_search(resource_type, pairs, resource_type in self.record_types)
        except BadSearch as exc:
            code = "not-supported" if "unknown" in str(exc) else "invalid"
            raise FhirError(400, code, str(exc)) from exc
        page = self.reader.search(query, _name(caller))
        audit_read(self.store, _actor(caller), f"FHIR {resource_type} search", page.patient_ids)
        return fhir_json(searchset(request, resource_type, page, query.params))

    def read(self, resource_type: str, rid: str, request: Request) -> Response:
        caller = authenticate(request, self.tokens)
        self._known_type(resource_type)
        try:
            resource, patients = self.reader.read(resource_type, check_id("id", rid), _name(caller))
        except BadSearch as exc:
            raise FhirError(400, "invalid", str(exc)) from exc
        except Gone as exc:
            raise FhirError(410, "deleted", f"{exc.args[0]} was replaced by an edit") from exc
        except NotFound as exc:
            raise FhirError(404, "not-found", f"no {exc.args[0]}") from exc
        audit_read(self.store, _actor(caller), f"FHIR {resource_type} read", patients)
        return fhir_json(resource)

    def feed_page(self, category: str, page: str, request: Request) -> Response:
        caller = authenticate(request, self.tokens)
        if page != "recent" and not page.isdigit():
            raise FhirError(404, "not-found", "a feed page is 'recent' or a page number")
        number = None if page == "recent" else int(page)
        try:
            found = self.feed.page(category, number, _name(caller))
        except UnknownCategory as exc:
            raise FhirError(404, "not-found", f"no feed {category[:40]!r}") from exc
        except NoSuchPage as exc:
            raise FhirError(404, "not-found", f"no feed page {exc.args[0][:60]}") from exc
        base = str(request.base_url).rstrip("/") + f"{FEED_PATH}/{category}"
        body = render_page(
            category,
            found.number,
            found.total_pages,
            found.entries,
            self_url=str(request.url),
            feed_base=base,
        )
        return Response(body, media_type="application/atom+xml")


def build_router(
    store: PassportStore,
    hospitals: dict[str, str],
    tokens: TokenLookup | None,
    record_types: tuple[str, ...],
) -> APIRouter:
    """The FHIR face and the parent feed over ``store``; plain (sync) handlers, so FastAPI runs
    them in its thread pool. ``$summary`` is registered before the generic read."""
    face = _Face(store, hospitals, tokens, record_types)
    router = APIRouter(route_class=FhirRoute)
    router.add_api_route(f"{FHIR_PATH}/metadata", face.metadata, methods=["GET"])
    router.add_api_route(FHIR_PATH + "/Patient/{rid}/$summary", face.summary, methods=["GET"])
    router.add_api_route(FHIR_PATH + "/{resource_type}", face.search, methods=["GET"])
    router.add_api_route(FHIR_PATH + "/{resource_type}/{rid}", face.read, methods=["GET"])
    router.add_api_route(FEED_PATH + "/{category}/{page}", face.feed_page, methods=["GET"])
    return router


def _name(caller: Caller | None) -> str | None:
    return caller.name if caller is not None else None
