"""(r) The REST source: a first sync of a hospital without fhir2 (classic feed + ``/ws/rest/v1``).

Runs in its own process (``python -m sync2.bench phase rest ARGS``) against a simulator child
process switched to the classic feed dialect with fhir2 off. REST has no snapshot, so the sync
walks the whole feed; it reports obs/s and the HTTP requests (feed pages included) and response
bytes per 1,000 obs, counted at the hospital as part (g) counts them: the figure the obs batching
(``obs?encounter=``) is there to keep down.
"""

from __future__ import annotations

import resource
import tempfile
import time
from pathlib import Path
from typing import Any

from ..config import Config, HttpConfig, MatchingConfig, PassportConfig, SourceConfig
from ..pipeline import Pipeline
from ..sources.openmrs_rest import OpenMRSRestSource
from ..store import open_store
from ._simulators import simulator_process
from ._sync20 import per_1000


def rest_phase(args: dict[str, Any]) -> dict[str, Any]:
    """Sync one REST-only hospital; returns obs/s and requests per 1,000 obs."""
    workdir = Path(args.get("workdir") or tempfile.mkdtemp(prefix="sync2-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    spec = {
        "hospitals": 1,
        "patients": args["patients"],
        "obs_per_patient": args["obs_per_patient"],
        "feed_dialect": "classic",
        "fhir": False,
    }
    with simulator_process(spec) as child:
        s = child.servers[0]
        source_config = SourceConfig(  # type: ignore[call-arg]
            id=s["id"],
            name=s["name"],
            kind="openmrs-rest",
            base_url=s["url"],
            username=s["username"],
            password=s["password"],
        )
        source = OpenMRSRestSource(source_config, HttpConfig())  # type: ignore[call-arg]
        store_url = f"sqlite:///{workdir / 'rest.db'}"
        config = Config(  # type: ignore[call-arg]
            passport=PassportConfig(store=store_url),  # type: ignore[call-arg]
            matching=MatchingConfig(identifier_types=["National ID"], on_unmatched="create"),
            sources=[source_config],
        )
        store = open_store(store_url)
        pipeline = Pipeline(config, store, sources={s["id"]: source})
        child.ask("reset")
        t0 = time.perf_counter()
        summaries = pipeline.sync_all()
        wall = time.perf_counter() - t0
        pipeline.close()
        served = child.cost()
    obs = store.count_records(s["id"], "Observation", valid_only=True)
    store.close()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return {
        "ok": all(x.ok for x in summaries),
        "obs": obs,
        "expected_obs": s["observations"],
        "wall_s": wall,
        "obs_per_s": obs / wall if wall else 0.0,
        "requests": served.get("requests", 0),
        "bytes": served.get("bytes", 0),
        "served": served,
        **per_1000(served, obs),
        "peak_rss_mb": usage.ru_maxrss / 1024,
    }
