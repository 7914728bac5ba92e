"""A source's ``token``: validated, sent as a bearer token over real HTTP, never repeated."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from sync2._errors import ConfigError, SourceAuthError
from sync2.config import load_config
from sync2.sources.http import HttpTransport

from .conftest import NATIONAL_TOKEN, District

SECRET = "Tok3n-S3cret-Value-4471"


def _load(tmp_path: Path, extra: str, token: str = SECRET) -> None:
    path = tmp_path / "sync2.toml"
    path.write_text(
        '[[sources]]\nid = "district"\nname = "District passport"\n'
        f'base_url = "https://district.example"\ntoken = "${{TOKEN}}"\n{extra}',
        encoding="utf-8",
    )
    load_config(path, env={"TOKEN": token})


@pytest.mark.parametrize(
    ("extra", "token", "named"),
    [
        ('username = "u"\npassword = "p"\n', SECRET, "not both"),
        ("", "two words", "no spaces"),
        ('kind = "openmrs-mysql"\ndsn = "mysql://u:p@h:3306/db"\n', SECRET, "openmrs-mysql"),
    ],
)
def test_a_bad_token_setting_is_named_and_never_repeated(
    tmp_path: Path, extra: str, token: str, named: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        _load(tmp_path, extra, token)
    assert "token" in str(caught.value)
    assert named in str(caught.value)
    assert token not in str(caught.value)


def test_a_good_token_loads_hidden(tmp_path: Path) -> None:
    path = tmp_path / "sync2.toml"
    path.write_text(
        '[[sources]]\nid = "d"\nname = "D"\nbase_url = "https://d.example"\ntoken = "${T}"\n',
        encoding="utf-8",
    )
    source = load_config(path, env={"T": SECRET}).sources[0]
    assert source.token is not None and source.token.get_secret_value() == SECRET
    assert SECRET not in repr(source)


def test_the_token_is_a_bearer_token_the_face_accepts(
    district: District, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    good = HttpTransport(district.url, token=NATIONAL_TOKEN)
    wrong = HttpTransport(district.url, token=SECRET)
    try:
        found = good.get(f"{district.fhir}/Observation", params={"_count": "1"})
        assert found.status == 200
        assert b'"searchset"' in found.body
        with pytest.raises(SourceAuthError) as refused:
            wrong.get(f"{district.fhir}/Observation", params={"_count": "1"})
        assert "401" in str(refused.value)
    finally:
        good.close()
        wrong.close()
    assert NATIONAL_TOKEN not in caplog.text
    assert SECRET not in caplog.text + str(refused.value)
