"""The ``simulate`` entry point: starts servers, prints credentials, adds live obs, stops."""

from __future__ import annotations

import pytest

from sync2.simulator import cli


def test_simulate_prints_and_adds_live_obs(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    ticks = []
    served: list = []
    original = cli.serve_hospitals

    def fake_sleep(seconds: float) -> None:
        ticks.append(seconds)
        if len(ticks) > 3:
            raise KeyboardInterrupt

    def spy(hospitals, **kwargs):  # type: ignore[no-untyped-def]
        served.extend((h, len(h.observations)) for h in hospitals)
        return original(hospitals, **kwargs)

    monkeypatch.setattr(cli, "sleep", fake_sleep)
    monkeypatch.setattr(cli, "serve_hospitals", spy)
    cli.simulate(hospitals=2, patients=2, obs_per_patient=2, base_port=0, live_rate=1.5)
    out = capsys.readouterr().out
    assert "Central Hospital: http://127.0.0.1:" in out
    assert "North Hospital: http://127.0.0.1:" in out
    assert "password=" in out and "Stopping." in out
    assert len(served) == 2
    # 3 ticks at 1.5/s: 1 + 2 + 1 new obs per hospital
    assert [len(h.observations) - before for h, before in served] == [4, 4]
