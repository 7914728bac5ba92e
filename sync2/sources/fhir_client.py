"""A small FHIR R4 read client for the OpenMRS fhir2 module.

Reads by id, searches with Bundle paging (``next`` links rebased onto our base, a pager that
refuses to loop), and the batched ``_id=a,b,c`` look-up that replaces one request per resource.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from .._errors import BadResponseError, Sync2Error, TransientSourceError, TypeNotServed
from ._base import Failure, FetchResult, Gone
from .http import HttpTransport, rebase


class FhirClient:
    """FHIR R4 reads against ``{base}/ws/fhir2/R4``."""

    def __init__(self, transport: HttpTransport, *, id_batch_size: int = 100) -> None:
        self.transport = transport
        self.fhir_base = f"{transport.base_url}/ws/fhir2/R4"
        self.id_batch_size = id_batch_size

    def read(self, resource_type: str, uuid: str) -> tuple[int, dict[str, Any] | None]:
        """(status, resource): 200 with the resource, 404/410 with None."""
        status, body = self.transport.get_json(f"{self.fhir_base}/{resource_type}/{uuid}")
        if body is not None:
            _check_resource(body, resource_type, f"{resource_type}/{uuid}")
        return status, body

    def search_pages(
        self, resource_type: str, params: dict[str, Any]
    ) -> Iterator[list[dict[str, Any]]]:
        """Yield each page's resources; follows ``next`` links until there are none.

        Raises:
            BadResponseError: a page is not a Bundle, or ``next`` names the page just read.
            TypeNotServed: the server has no such resource type (the search answers 404).
        """
        url: str | None = f"{self.fhir_base}/{resource_type}"
        query: dict[str, Any] | None = params
        seen: set[str] = set()
        while url is not None:
            status, bundle = self.transport.get_json(url, params=query)
            if status == 404 and query is not None:  # the type search itself, not a page
                msg = f"search {resource_type}: the server does not serve {resource_type} (404)"
                raise TypeNotServed(msg)
            if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
                msg = f"search {resource_type}: response is not a Bundle"
                raise BadResponseError(msg)
            yield [
                e["resource"]
                for e in bundle.get("entry") or []
                if isinstance(e, dict) and isinstance(e.get("resource"), dict)
            ]
            nxt = next(
                (
                    link.get("url")
                    for link in bundle.get("link") or []
                    if isinstance(link, dict) and link.get("relation") == "next"
                ),
                None,
            )
            if not nxt:
                return
            nxt = rebase(nxt, self.transport.base_url)
            if nxt in seen:
                msg = f"search {resource_type}: next link repeats a page already read"
                raise BadResponseError(msg)
            seen.add(nxt)
            url, query = nxt, None

    def search(self, resource_type: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        for page in self.search_pages(resource_type, params):
            yield from page

    def fetch(self, resource_type: str, uuids: Iterable[str]) -> FetchResult:
        """Current state of many resources: ``_id`` searches of up to 100, then a read for each
        id the search did not return (to tell voided, 410, from deleted, 404)."""
        wanted = list(dict.fromkeys(uuids))
        result = FetchResult()
        failed: set[str] = set()
        for start in range(0, len(wanted), self.id_batch_size):
            chunk = wanted[start : start + self.id_batch_size]
            params = {"_id": ",".join(chunk), "_count": len(chunk)}
            try:
                for resource in self.search(resource_type, params):
                    rid = resource.get("id")
                    if isinstance(rid, str) and resource.get("resourceType") == resource_type:
                        result.found[rid] = resource
            except (TransientSourceError, BadResponseError) as exc:
                for uuid in chunk:
                    result.failures.append(_failure(resource_type, uuid, exc))
                failed.update(chunk)
        for uuid in wanted:
            if uuid in result.found or uuid in failed:
                continue
            try:
                status, resource = self.read(resource_type, uuid)
            except (TransientSourceError, BadResponseError) as exc:
                result.failures.append(_failure(resource_type, uuid, exc))
                continue
            if resource is not None:  # the search missed it (e.g. created after the search)
                result.found[uuid] = resource
            elif status == 410:
                result.gone.append(Gone(resource_type, uuid, "voided"))
            else:
                result.gone.append(Gone(resource_type, uuid, "deleted"))
        return result


def _check_resource(body: Any, resource_type: str, where: str) -> None:
    if not isinstance(body, dict) or "resourceType" not in body:
        msg = f"{where}: response is not a FHIR resource"
        raise BadResponseError(msg)


def _failure(resource_type: str, uuid: str, exc: Sync2Error) -> Failure:
    return Failure(
        error=str(exc),
        resource_type=resource_type,
        uuid=uuid,
        payload_ref=f"{resource_type}/{uuid}",
    )
