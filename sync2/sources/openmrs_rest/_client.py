"""A small client for ``/ws/rest/v1``: reads by uuid, searches that follow ``next`` links, and a
concept cache (an obs names only its concept; the concept says its datatype, units and codes).

Links a server prints are never trusted for their host (real servers print
``NEED-TO-CONFIGURE/ws/rest/v1/...`` or a doubled prefix): every ``next`` link is rebased onto the
configured base, and a link that repeats a page already read ends the search with an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from mappers.openmrs_rest import concept_info, display_of
from mappers.openmrs_rest_clinical import creator_uuid
from mappers.openmrs_rows import ConceptInfo

from ..._errors import BadResponseError, SourceAuthError
from ..http import HttpTransport, rebase

JSON = dict[str, Any]
PAGE = 100  # webservices.rest.maxResultsAbsolute's default


class RestClient:
    """REST reads against ``{base}/ws/rest/v1``."""

    def __init__(self, transport: HttpTransport) -> None:
        self.transport = transport
        self.rest_base = f"{transport.base_url}/ws/rest/v1"
        self._concepts: dict[str, ConceptInfo] = {}
        self._users: dict[str, str | None] = {}

    def read(self, kind: str, uuid: str) -> tuple[int, JSON | None]:
        """(status, object) of ``{kind}/{uuid}?v=full``: 404/410 come back with ``None``.

        Raises:
            BadResponseError: the body is not a JSON object carrying that uuid.
        """
        status, body = self.transport.get_json(
            f"{self.rest_base}/{kind}/{uuid}", params={"v": "full"}
        )
        if body is None:
            return status, None
        if not isinstance(body, dict) or body.get("uuid") != uuid:
            msg = f"REST {kind}/{uuid}: response is not the {kind} asked for"
            raise BadResponseError(msg)
        return status, body

    def search(
        self, kind: str, params: dict[str, Any], *, missing_ok: bool = False
    ) -> Iterator[JSON]:
        """Every result of ``{kind}?...&v=full``, page by page; with ``missing_ok`` a resource
        the server does not have (404: no allergy API before 2.0) yields nothing.

        Raises:
            BadResponseError: a page is not ``{"results": [...]}``, or ``next`` repeats a page.
        """
        url: str | None = f"{self.rest_base}/{kind}"
        query: dict[str, Any] | None = {**params, "v": "full", "limit": PAGE}
        seen: set[str] = set()
        while url is not None:
            status, body = self.transport.get_json(url, params=query)
            if body is None and status == 404 and missing_ok:
                return
            results = body.get("results") if isinstance(body, dict) else None
            if not isinstance(results, list):
                msg = f"REST search {kind}: response has no results list"
                raise BadResponseError(msg)
            yield from (r for r in results if isinstance(r, dict))
            url, query = _next_link(body, self.transport.base_url), None
            if url is not None and url in seen:
                msg = f"REST search {kind}: next link repeats a page already read"
                raise BadResponseError(msg)
            if url is not None:
                seen.add(url)

    def user_names(self, objects: Iterable[JSON]) -> dict[str, str]:
        """The person names of the users who created ``objects``, each user read once per
        source (a user ref shows only the username). A user the sync account may not read
        keeps its username."""
        wanted = {u for o in objects if (u := creator_uuid(o))}
        for uuid in sorted(wanted - self._users.keys()):
            try:
                _status, body = self.read("user", uuid)
            except (SourceAuthError, BadResponseError):
                body = None
            name = display_of(body.get("person")) if body else None
            self._users[uuid] = name
        return {u: name for u in wanted if (name := self._users.get(u))}

    def concepts(self, uuids: set[str]) -> dict[str, ConceptInfo]:
        """Concepts by uuid, each fetched once per source (unknown ones are left out)."""
        for uuid in sorted(uuids - self._concepts.keys()):
            _status, body = self.read("concept", uuid)
            if body is not None:
                self._concepts[uuid] = concept_info(body)
        return {u: self._concepts[u] for u in uuids if u in self._concepts}


def _next_link(body: JSON, base_url: str) -> str | None:
    for link in body.get("links") or []:
        if (
            isinstance(link, dict)
            and link.get("rel") == "next"
            and isinstance(link.get("uri"), str)
        ):
            return rebase(link["uri"], base_url)
    return None
