"""The auth matrix: no token, bad token, doctor, admin, on every endpoint; and token loading."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sync2 import ConfigError
from sync2.config import Config
from sync2.service import TokenAuth, api_auth, hash_token, load_tokens

from .conftest import ADMIN, DOCTOR

P = "/api/openmrs-sync"
#: (method, path, json body, doctor allowed). Bodies are valid, ids exist or 404 cleanly.
ENDPOINTS: list[tuple[str, str, dict[str, Any] | None, bool]] = [
    ("POST", f"{P}/start", {"intervalMinutes": 5}, False),
    ("POST", f"{P}/stop", None, False),
    ("POST", f"{P}/sync-all", None, False),
    ("POST", f"{P}/sync-source/central", None, False),
    ("POST", f"{P}/sync-patient/NOBODY-000", None, True),
    ("POST", f"{P}/sync-record", {"source": "central", "type": "Patient", "uuid": "x"}, False),
    ("GET", f"{P}/status", None, True),
    ("GET", f"{P}/failed", None, False),
    ("POST", f"{P}/failed/999/retry", None, False),
    ("POST", f"{P}/failed/retry-all", None, False),
    ("GET", f"{P}/conflicts", None, False),
    ("GET", f"{P}/conflicts/999", None, False),
    ("POST", f"{P}/conflicts/999/resolve", {"take": "source"}, False),
    ("GET", f"{P}/audit", None, False),
    ("GET", "/metrics", None, False),
]
IDS = [f"{m} {p.removeprefix(P)}" for m, p, _, _ in ENDPOINTS]


@pytest.mark.parametrize(("method", "path", "body", "doctor_ok"), ENDPOINTS, ids=IDS)
def test_auth_matrix(
    client: Any, method: str, path: str, body: dict[str, Any] | None, doctor_ok: bool
) -> None:
    none = client.request(method, path, json=body)
    assert none.status_code == 401
    assert none.json() == {
        "success": False,
        "error": "unauthorized",
        "message": "missing bearer token: send 'Authorization: Bearer <token>'",
    }
    assert none.headers["www-authenticate"] == "Bearer"

    bad = client.request(method, path, json=body, headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    assert bad.json()["message"] == "invalid bearer token"

    basic = client.request(method, path, json=body, headers={"Authorization": "Basic YTpi"})
    assert basic.status_code == 401

    doctor = client.request(method, path, json=body, headers=DOCTOR)
    if doctor_ok:
        assert doctor.status_code == 200, doctor.text
    else:
        assert doctor.status_code == 403
        assert doctor.json()["error"] == "forbidden"
        assert "'doctor' may not call this endpoint" in doctor.json()["message"]

    admin = client.request(method, path, json=body, headers=ADMIN)
    assert admin.status_code not in (401, 403), admin.text
    assert admin.status_code < 500 or admin.status_code == 501, admin.text


def test_healthz_needs_no_token(client: Any) -> None:
    r = client.get("/healthz")
    assert r.status_code == 200
    assert r.json() == {"status": "ok", "scheduler": False}


def test_doctor_actions_are_audited_with_their_name(client: Any, service: Any) -> None:
    assert client.post(f"{P}/sync-patient/NOBODY-000", headers=DOCTOR).status_code == 200
    entries = service.store.list_audit(kind="manual")
    assert [e.actor for e in entries] == ["doctor:dr-who"]


def test_tokens_are_kept_hashed_and_matched_exactly() -> None:
    auth = TokenAuth()
    auth.add("admin", "a", "a" * 20)
    auth.add_hashed("doctor", "d", hash_token("d" * 20))
    assert "a" * 20 not in repr(vars(auth)) and "a" * 20 not in repr(auth._entries)
    assert auth.identify("a" * 20).actor == "admin:a"  # type: ignore[union-attr]
    assert auth.identify("d" * 20).actor == "doctor:d"  # type: ignore[union-attr]
    assert auth.identify("a" * 19) is None
    assert auth.identify("") is None


@pytest.mark.parametrize(
    ("role", "name", "token", "error"),
    [
        ("root", "x", "x" * 20, "unknown role 'root'"),
        ("admin", "x", "short", "too short"),
    ],
)
def test_bad_tokens_are_refused(role: str, name: str, token: str, error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        TokenAuth().add(role, name, token)


def test_tokens_from_env_and_file(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    path.write_text(
        "# role name token\n"
        f"doctor alice {'b' * 20}\n"
        f"admin ci sha256:{hash_token('c' * 20)}  # hashed\n\n",
        encoding="utf-8",
    )
    env = {"MY_TOKENS": f"{'a' * 20}, doctor:{'e' * 20}"}
    auth = load_tokens(env, env_name="MY_TOKENS", token_file=path)
    assert len(auth) == 4
    assert auth.identify("a" * 20).role == "admin"  # type: ignore[union-attr]
    assert auth.identify("e" * 20).role == "doctor"  # type: ignore[union-attr]
    assert auth.identify("b" * 20).actor == "doctor:alice"  # type: ignore[union-attr]
    assert auth.identify("c" * 20).actor == "admin:ci"  # type: ignore[union-attr]


def test_malformed_token_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "tokens"
    path.write_text(f"admin {'a' * 20}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"tokens:1: expected 'role name token'"):
        load_tokens({}, env_name="T", token_file=path)


def test_no_default_token_the_api_refuses_to_start() -> None:
    config = Config()
    with pytest.raises(ConfigError, match="the admin API has no token: set SYNC2_API_TOKENS"):
        api_auth(config, "127.0.0.1", insecure_local=False, env={})
    with pytest.raises(ConfigError, match="only allowed on a loopback address"):
        api_auth(config, "0.0.0.0", insecure_local=True, env={})
    assert api_auth(config, "127.0.0.1", insecure_local=True, env={}) is None
    auth = api_auth(config, "0.0.0.0", insecure_local=False, env={"SYNC2_API_TOKENS": "a" * 20})
    assert auth is not None and len(auth) == 1


def test_insecure_local_app_acts_as_local_admin(service: Any) -> None:
    from sync2.service import create_app

    from .conftest import TestClient

    with TestClient(create_app(service, None)) as c:
        assert c.get(f"{P}/audit").status_code == 200
        assert c.post(f"{P}/stop").status_code == 200
    assert service.store.list_audit(kind="scheduler")[0].actor == "admin:local"


@pytest.mark.parametrize("role", ["Doctor", "ADMIN", "viewer", "doctors"])
def test_a_mistyped_role_in_the_environment_is_an_error_not_an_admin(role: str) -> None:
    secret = "f" * 20
    with pytest.raises(ConfigError, match=rf"T\[1\]: unknown role '{role}'") as caught:
        load_tokens({"T": f"{'a' * 20},{role}:{secret}"}, env_name="T")
    assert secret not in str(caught.value)


def test_serve_exits_2_naming_the_unknown_role(tmp_path: Path, monkeypatch: Any) -> None:
    from typer.testing import CliRunner

    from sync2.cli import app

    config = tmp_path / "sync2.toml"
    config.write_text(f'[passport]\nstore = "sqlite:///{tmp_path / "p.db"}"\n', encoding="utf-8")
    monkeypatch.setenv("SYNC2_API_TOKENS", "Doctor:" + "d" * 20)
    result = CliRunner().invoke(app, ["serve", "--config", str(config), "--port", "0"])
    assert result.exit_code == 2, result.output
    assert "unknown role 'Doctor'" in result.output and "d" * 20 not in result.output
