"""The admin console: server-rendered pages under ``/admin`` of ``sync2 serve``.

Pages for people over the same :class:`~sync2.service.Service` the JSON API uses: an overview
of every hospital, failed events, conflicts side by side, parked records, the audit log, a
patient's passport with vitals charts, and a manual sync of one record. Sign-in takes an API
token (same tokens and roles) and gives an HttpOnly, SameSite=Strict session cookie; every form
carries a CSRF token; every value a hospital sent is escaped. Scripts (htmx, uPlot) are vendored
under ``static/vendor`` with their licences, so the console works on a LAN with no internet.

    app = create_app(service, auth)        # the API with the console at /admin
"""

from __future__ import annotations

from ._app import create_console
from ._serve import CONSOLE_PATH, console_mounts, create_app, serve
from ._sessions import SessionStore

__all__ = [
    "CONSOLE_PATH",
    "SessionStore",
    "console_mounts",
    "create_app",
    "create_console",
    "serve",
]
