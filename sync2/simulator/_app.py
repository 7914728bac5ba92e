"""The ASGI app one HospitalServer runs: atom feeds, FHIR R4 reads/searches/paging, faults.

Plain ASGI (no framework routing or models) keeps a 100-entry search page at "join cached JSON
strings and send", which is what the benchmarks need on 2 cores.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import json
import uuid
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from . import _rest, _rest_session, _search
from ._faults import FaultPicker
from ._feed import FeedPageNotFound, render_page
from ._hospital import Hospital
from ._records import Rec
from ._util import fhir_instant

#: the host fhir2 prints in Bundle links when it is behind a proxy (clients must rebase)
WRONG_BASE = "http://localhost:8080/openmrs/ws/fhir2/R4"
FHIR_PREFIX = "/openmrs/ws/fhir2/R4"
FEED_PREFIX = "/openmrs/ws/atomfeed/"
PAGING_CACHE_SIZE = 100
FHIR_JSON = b"application/fhir+json;charset=UTF-8"
ATOM_XML = b"application/atom+xml;charset=UTF-8"
JSON_UTF8 = b"application/json;charset=UTF-8"

Scope = MutableMapping[str, Any]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]


@dataclass
class Reply:
    status: int
    body: bytes
    content_type: bytes = FHIR_JSON
    headers: tuple[tuple[bytes, bytes], ...] = ()


@dataclass
class _Paged:
    query: _search.Query
    rows: list[Rec]
    version: int


def outcome(status: int, diagnostics: str, code: str = "processing") -> Reply:
    body = json.dumps(
        {
            "resourceType": "OperationOutcome",
            "issue": [{"severity": "error", "code": code, "diagnostics": diagnostics}],
        }
    )
    return Reply(status, body.encode())


class SimulatorApp:
    """Serves one Hospital. ``owner`` provides ``faults``, ``stats`` and the credentials."""

    def __init__(
        self, hospital: Hospital, username: str, password: str, stats: Counter[str]
    ) -> None:
        self.hospital = hospital
        self.stats = stats
        self.picker: FaultPicker | None = None
        token = base64.b64encode(f"{username}:{password}".encode()).decode()
        self._auth = f"Basic {token}".encode()
        self._credentials = (username, password)
        self._pages: OrderedDict[str, _Paged] = OrderedDict()
        self._oversized: bytes | None = None

    # ------------------------------------------------------------------ ASGI
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        self.stats["requests"] += 1
        path: str = scope["path"]
        headers = dict(scope["headers"])
        fault, slow = (None, False)
        picker = self.picker
        if picker is not None:
            fault, slow = picker.draw(path, is_feed=path.startswith(FEED_PREFIX))
            if slow:
                self.stats["faults"] += 1
                self.stats["fault_slow"] += 1
                await asyncio.sleep(picker.config.delay)
        if fault is not None:
            self.stats["faults"] += 1
            self.stats[f"fault_{fault}"] += 1
            early = self._early_fault(fault, scope, headers)
            if early is not None:
                await self._send(send, early)
                return
        if scope["method"] != "GET":
            reply = outcome(405, f"method {scope['method']} is not supported (read-only server)")
        else:
            reply = self.handle(path, scope["query_string"].decode("latin-1"), headers)
        if fault == "reset":
            await send(
                {
                    "type": "http.response.start",
                    "status": reply.status,
                    "headers": [
                        (b"content-type", reply.content_type),
                        (b"content-length", str(len(reply.body)).encode()),
                    ],
                }
            )
            await send(
                {
                    "type": "http.response.body",
                    "body": reply.body[: len(reply.body) // 2],
                    "more_body": True,
                }
            )
            return  # uvicorn closes the connection mid-body
        if fault in ("truncated", "invalid_xml"):
            cut = reply.body[: max(1, len(reply.body) // 2)]
            reply.body = cut + (b"<entry><title>&broken" if fault == "invalid_xml" else b"")
        await self._send(send, reply)

    async def _send(self, send: Send, reply: Reply) -> None:
        headers = [
            (b"content-type", reply.content_type),
            (b"content-length", str(len(reply.body)).encode()),
            *reply.headers,
        ]
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": reply.body})

    def _early_fault(self, fault: str, scope: Scope, headers: dict[bytes, bytes]) -> Reply | None:
        """Faults that replace the real answer; None for those that corrupt it."""
        assert self.picker is not None
        retry = (b"retry-after", str(self.picker.config.retry_after).encode())
        if fault == "error_500":
            return outcome(500, "Internal Server Error (injected)", "exception")
        if fault == "error_503":
            return Reply(
                503, b"<html><body>503 Service Unavailable</body></html>", b"text/html", (retry,)
            )
        if fault == "error_429":
            return Reply(429, b'{"error":"Too Many Requests"}', b"application/json", (retry,))
        if fault == "wrong_content_type":
            return Reply(
                200,
                b"<!DOCTYPE html><html><head><title>OpenMRS</title></head>"
                b"<body><form id='login'>Login</form></body></html>",
                b"text/html;charset=UTF-8",
            )
        if fault == "oversized":
            size = self.picker.config.oversized_bytes
            if self._oversized is None or len(self._oversized) != size:
                head = b'{"resourceType":"Bundle","type":"searchset","padding":"'
                self._oversized = head + b"x" * max(0, size - len(head) - 2) + b'"}'
            return Reply(200, self._oversized)
        if fault == "redirect_loop":
            host = headers.get(b"host", b"127.0.0.1").decode("latin-1")
            query = scope["query_string"]
            url = f"http://{host}{scope['path']}" + (f"?{query.decode('latin-1')}" if query else "")
            return Reply(302, b"", b"text/plain", ((b"location", url.encode()),))
        return None

    # ------------------------------------------------------------------ routing
    def handle(self, path: str, query: str, headers: dict[bytes, bytes]) -> Reply:
        """Answer one GET (no faults); public so tests can call it without a socket."""
        if path.startswith(FEED_PREFIX):
            return self._feed(path, query, headers)
        if path.startswith(_rest.REST_PREFIX):
            return self._rest(path, query, headers)
        fhir_path = path == FHIR_PREFIX or path.startswith(FHIR_PREFIX + "/")
        if fhir_path and _rest.fhir_enabled(self.hospital):
            sub = path[len(FHIR_PREFIX) :].strip("/")
            if sub == "metadata":
                self.stats["metadata"] += 1
                return Reply(200, _capability())
            if not self._authorised(headers.get(b"authorization")):
                self.stats["unauthorized"] += 1
                reply = outcome(401, "Not authenticated", "login")
                reply.headers = ((b"www-authenticate", b'Basic realm="OpenMRS"'),)
                return reply
            params = parse_qsl(query, keep_blank_values=True)
            parts = sub.split("/") if sub else []
            try:
                if not parts:
                    return self._getpages(dict(params))
                if len(parts) == 1:
                    return self._search(parts[0], params, query)
                if len(parts) == 2:
                    return self._read(parts[0], parts[1], headers)
            except _search.SearchError as exc:
                return outcome(400, str(exc), "invalid")
        self.stats["not_found"] += 1
        return Reply(404, b"<html><body>404 Not Found</body></html>", b"text/html")

    def _authorised(self, header: bytes | None) -> bool:
        if header is None:
            return False
        if header == self._auth:
            return True
        scheme, _, token = header.partition(b" ")
        if scheme.lower() != b"basic":
            return False
        try:
            user, _, password = base64.b64decode(token.strip()).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return (user, password) == self._credentials

    def _rest(self, path: str, query: str, headers: dict[bytes, bytes]) -> Reply:
        basic = self._authorised(headers.get(b"authorization"))
        if path[len(_rest.REST_PREFIX) :].strip("/") == "session":
            body, extra = _rest_session.sign_in(self.hospital, basic, self._credentials[0])
            self.stats["rest_sign_ins" if basic else "rest_refused_sign_ins"] += 1
            return Reply(200, json.dumps(body).encode(), JSON_UTF8, tuple(extra))
        if basic:
            self.stats["rest_basic"] += 1
        elif _rest_session.cookie_session(self.hospital, headers.get(b"cookie")):
            self.stats["rest_cookie"] += 1
        else:
            self.stats["unauthorized"] += 1
            status, error = _rest.error(401, "User is not logged in")
            return Reply(status, json.dumps(error).encode(), JSON_UTF8)
        self.stats["rest_requests"] += 1
        self.stats[f"rest_get:{path[len(_rest.REST_PREFIX) :].split('/')[0]}"] += 1
        host = headers.get(b"host", b"127.0.0.1").decode("latin-1")
        params = dict(parse_qsl(query, keep_blank_values=True))
        base = f"http://{host}{_rest.REST_PREFIX}"
        status, body = _rest.respond(self.hospital, path[len(_rest.REST_PREFIX) :], params, base)
        return Reply(status, body, JSON_UTF8)

    # ------------------------------------------------------------------ atom feed
    def _feed(self, path: str, query: str, headers: dict[bytes, bytes]) -> Reply:
        rest = path[len(FEED_PREFIX) :].split("/")
        if len(rest) != 2 or not rest[0]:
            return Reply(404, b"<html><body>404 Not Found</body></html>", b"text/html")
        category, which = rest
        host = headers.get(b"host", b"127.0.0.1").decode("latin-1")
        scheme = headers.get(b"x-forwarded-proto", b"http").decode("latin-1")
        self_url = f"{scheme}://{host}{path}" + (f"?{query}" if query else "")
        page_base = f"{scheme}://{host}{path[: path.rfind('/') + 1]}"
        try:
            n = None if which == "recent" else int(which)
            xml = render_page(self.hospital, category, n, self_url, page_base)
        except (ValueError, FeedPageNotFound) as exc:
            self.stats["feed_errors"] += 1
            body = f"<html><body><h1>HTTP Status 500</h1><p>{exc}</p></body></html>".encode()
            return Reply(500, body, b"text/html;charset=UTF-8")
        self.stats["feed_pages"] += 1
        return Reply(200, xml.encode(), ATOM_XML)

    # ------------------------------------------------------------------ FHIR
    def _read(self, rtype: str, rid: str, headers: dict[bytes, bytes]) -> Reply:
        self.stats["fhir_reads"] += 1
        if rtype not in _search.RESOURCE_TYPES or rtype in self.hospital.unserved:
            self.stats["not_found"] += 1
            return outcome(404, f"Unknown resource type '{rtype}'", "not-supported")
        h = self.hospital
        with h.lock:
            rec = h.get(rtype, rid)
            if rec is None:
                self.stats["not_found"] += 1
                return outcome(404, f"Resource {rtype}/{rid} is not known", "not-found")
            if rec.voided:
                self.stats["gone"] += 1
                return outcome(410, f"Resource {rtype}/{rid} is gone/deleted", "deleted")
            etag = f'W/"{rec.lu * 1000}"'.encode()
            if headers.get(b"if-none-match") == etag:
                return Reply(304, b"", FHIR_JSON, ((b"etag", etag),))
            body = h.resource_json(rec).encode()
        return Reply(200, body, FHIR_JSON, ((b"etag", etag), (b"cache-control", b"no-store")))

    def _search(self, rtype: str, params: list[tuple[str, str]], raw_query: str) -> Reply:
        self.stats["fhir_searches"] += 1
        if rtype not in _search.RESOURCE_TYPES or rtype in self.hospital.unserved:
            self.stats["not_found"] += 1
            return outcome(404, f"Unknown resource type '{rtype}'", "not-supported")
        q = _search.parse_query(rtype, params)
        h = self.hospital
        with h.lock:
            rows = _search.run_query(h, q)
            paged = _Paged(q, rows, h.version)
            self_url = f"{WRONG_BASE}/{rtype}" + (f"?{raw_query}" if raw_query else "")
            return self._bundle(paged, 0, q.count, self_url)

    def _getpages(self, params: dict[str, str]) -> Reply:
        search_id = params.get("_getpages")
        if not search_id:
            return outcome(400, "no resource type or _getpages in the request", "invalid")
        self.stats["fhir_pages"] += 1
        paged = self._pages.get(search_id)
        if paged is None:
            self.stats["gone"] += 1
            return outcome(
                410, f"Search ID[{search_id}] does not exist and may have expired.", "not-found"
            )
        try:
            offset = max(0, int(params.get("_getpagesoffset", "0")))
            count = max(0, min(int(params.get("_count", paged.query.count)), _search.MAX_COUNT))
        except ValueError as exc:
            raise _search.SearchError(str(exc)) from exc
        h = self.hospital
        with h.lock:
            if paged.version != h.version:  # live offset paging: re-run, as fhir2 does
                paged.rows = _search.run_query(h, paged.query)
                paged.version = h.version
            self_url = (
                f"{WRONG_BASE}?_getpages={search_id}&_getpagesoffset={offset}"
                f"&_count={count}&_bundletype=searchset"
            )
            return self._bundle(paged, offset, count, self_url, search_id)

    def _bundle(
        self, paged: _Paged, offset: int, count: int, self_url: str, search_id: str | None = None
    ) -> Reply:
        """A searchset Bundle built by joining cached resource JSON. Call with the lock held."""
        h = self.hospital
        total = len(paged.rows)
        links = [{"relation": "self", "url": self_url}]
        if paged.query.summary_count:
            page: list[Rec] = []
        else:
            page = paged.rows[offset : offset + count]
        if offset + count < total and not paged.query.summary_count and count > 0:
            if search_id is None:
                search_id = str(uuid.uuid4())
                self._pages[search_id] = paged
                while len(self._pages) > PAGING_CACHE_SIZE:
                    self._pages.popitem(last=False)
            links.append(
                {
                    "relation": "next",
                    "url": (
                        f"{WRONG_BASE}?_getpages={search_id}&_getpagesoffset={offset + count}"
                        f"&_count={count}&_bundletype=searchset"
                    ),
                }
            )
        if offset > 0 and search_id is not None:
            back = max(0, offset - count)
            links.append(
                {
                    "relation": "previous",
                    "url": (
                        f"{WRONG_BASE}?_getpages={search_id}&_getpagesoffset={back}"
                        f"&_count={count}&_bundletype=searchset"
                    ),
                }
            )
        rows = page + _search.included(paged.query, page)
        head = json.dumps(
            {
                "resourceType": "Bundle",
                "id": str(uuid.uuid4()),
                "meta": {"lastUpdated": fhir_instant(h.now())},
                "type": "searchset",
                "total": total,
                "link": links,
            },
            separators=(",", ":"),
        )
        if rows:
            self.stats["fhir_resources"] += len(rows)
            entries = ",".join(
                f'{{"fullUrl":"{WRONG_BASE}/{r.resource_type}/{r.uuid}","resource":'
                f"{h.resource_json(r)}}}"
                for r in rows
            )
            body = f'{head[:-1]},"entry":[{entries}]}}'
        else:
            body = head
        return Reply(200, body.encode())


def _capability() -> bytes:
    resources = [
        {"type": t, "interaction": [{"code": "read"}, {"code": "search-type"}]}
        for t in _search.RESOURCE_TYPES
    ]
    return json.dumps(
        {
            "resourceType": "CapabilityStatement",
            "status": "active",
            "kind": "instance",
            "software": {"name": "OpenMRS FHIR2 module (sync2 simulator)", "version": "2.x"},
            "fhirVersion": "4.0.1",
            "format": ["application/fhir+json"],
            "rest": [{"mode": "server", "resource": resources}],
        }
    ).encode()
