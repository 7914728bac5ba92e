"""A file holding secrets that other users can read gets a warning naming it (never the secret)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from sync2.config import load_config
from sync2.service._auth import load_tokens

CONFIG = (
    '[[sources]]\nid = "c"\nname = "C"\nbase_url = "http://127.0.0.1:1/openmrs"\n'
    'username = "u"\npassword = "{password}"\n'
)


@pytest.mark.parametrize(
    ("mode", "password", "warned"),
    [(0o644, "s3cret-literal", True), (0o600, "s3cret-literal", False), (0o644, "${PW}", False)],
)
def test_config_file_with_a_literal_secret(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, mode: int, password: str, warned: bool
) -> None:
    path = tmp_path / "sync2.toml"
    path.write_text(CONFIG.format(password=password))
    path.chmod(mode)
    with caplog.at_level(logging.WARNING, logger="sync2.security"):
        load_config(path, env={"PW": "from-env"})
    text = caplog.text
    assert ("readable by other users" in text) is warned
    assert "s3cret-literal" not in text and "from-env" not in text
    if warned:
        assert "sources[0].password" in text and "chmod 600" in text


def test_token_file_readable_by_others(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "tokens"
    path.write_text("admin ops tok-abcdef-0123456789\n")
    path.chmod(0o640)
    with caplog.at_level(logging.WARNING, logger="sync2.security"):
        auth = load_tokens({}, env_name="X", token_file=path)
    assert auth is not None
    assert "API token file" in caplog.text and "tok-abcdef-0123456789" not in caplog.text
    caplog.clear()
    path.chmod(0o600)
    with caplog.at_level(logging.WARNING, logger="sync2.security"):
        load_tokens({}, env_name="X", token_file=path)
    assert caplog.text == ""
