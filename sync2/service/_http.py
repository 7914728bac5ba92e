"""What every admin route shares: the answer envelope, the error, the role check, the bounds.

Routes reach the running :class:`~sync2.service.Service` and the caller through FastAPI
dependencies (:func:`get_service`, :func:`require`), so a route module needs no closure over
the app and a new one is a single ``include_router`` line in the app factory.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict

from .._errors import ConfigError
from ._auth import Principal
from ._service import Service

PREFIX = "/api/openmrs-sync"
ADMIN = ("admin",)
ADMIN_OR_DOCTOR = ("admin", "doctor")

#: SQLite's INTEGER is a signed 64-bit number; a larger id or limit cannot name a row.
MAX_ID = 2**63 - 1
#: Most rows a list endpoint returns in one answer.
MAX_LIMIT = 10_000
#: What a source id or a national ID may look like (a record uuid: ``admin.manual``): checked
#: before any hospital is called, so a path such as ``../..`` or a 100 KB value never reaches a
#: hospital's URL.
SOURCE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
NATIONAL_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9 ._-]{0,63}$"
SHORT_TEXT = 64


class ApiError(Exception):
    """An error answer with the envelope; raised by handlers and the auth dependency."""

    def __init__(
        self, status: int, code: str, message: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The Passport's error envelope."""
    return JSONResponse(
        {"success": False, "error": code, "message": message}, status_code=status, headers=headers
    )


def ok(message: str, data: Any = None, status: int = 200) -> JSONResponse:
    """The Passport's success envelope."""
    return JSONResponse({"success": True, "message": message, "data": data}, status_code=status)


class Body(BaseModel):
    """A request body: unknown fields are an error, camelCase aliases are accepted."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def get_service(request: Request) -> Service:
    """The service the app was built over."""
    return request.app.state.service  # type: ignore[no-any-return]


def require(roles: tuple[str, ...]) -> Callable[[Request], Principal]:
    """A dependency: the caller (already authenticated by the token guard) must have a role."""

    def _check(request: Request) -> Principal:
        principal: Principal | None = request.scope.get("sync2.principal")
        if principal is None:  # the guard lets nothing through unauthenticated; be sure anyway
            raise ApiError(
                401, "unauthorized", "missing bearer token", {"WWW-Authenticate": "Bearer"}
            )
        if principal.role not in roles:
            raise ApiError(
                403,
                "forbidden",
                f"role {principal.role!r} may not call this endpoint (needs {' or '.join(roles)})",
            )
        return principal

    return _check


def known_source(service: Service, source_id: str) -> None:
    """404 for a source id the config does not name."""
    try:
        service.config.source(source_id)
    except ConfigError as exc:
        raise ApiError(404, "not_found", str(exc)) from exc


ServiceDep = Annotated[Service, Depends(get_service)]
AdminDep = Annotated[Principal, Depends(require(ADMIN))]
AnyoneDep = Annotated[Principal, Depends(require(ADMIN_OR_DOCTOR))]
SourceId = Annotated[str, Path(pattern=SOURCE_ID_PATTERN, description="Source id.")]
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
ShortText = Annotated[str | None, Query(max_length=SHORT_TEXT)]
