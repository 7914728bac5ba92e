"""(m) The MongoDB store over the wire: a sync end to end, the store alone, and bytes per obs.

Runs in its own process (``python -m sync2.bench phase mongo ARGS``). The server is the one named
by ``SYNC2_BENCH_MONGODB_URI`` (a real MongoDB; the bench uses and then drops two databases of its
own there), else ``nx-27017`` started as the tests start it (``sync2.testing.mongowire``).
nx-27017 speaks the wire protocol over SQLite files: it is not MongoDB, and its speed is not
MongoDB's; what it does measure is the store's own work and the wire round trips.

- **end to end**: one simulated hospital synced into the MongoDB passport over HTTP (threads);
- **store alone**: the same documents written again through the store's ``apply``, 1,000 a batch,
  into a second database (as part (b) does on SQLite);
- **bytes per obs**: the BSON of every document in the end-to-end passport (read raw, so the
  size is the wire's and MongoDB's own encoding, before WiredTiger's compression), plus the index
  sizes the server reports, divided by the valid obs.
"""

from __future__ import annotations

import os
import secrets
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from bson.raw_bson import RawBSONDocument
from pymongo import MongoClient

from mappers.documents import RecordDoc

from ..pipeline import Pipeline
from ..store import WriteBatch, open_store
from ._phases import _config
from ._simulators import simulators

URI_ENV = "SYNC2_BENCH_MONGODB_URI"
NX_NOTE = "nx-27017: wire protocol over SQLite, not MongoDB (its speed is not MongoDB's)"
MEASURED_AS = (
    "BSON of every stored document (read raw) + index sizes as the server reports them "
    "(collStats totalIndexSize, else dbStats indexSize), / valid obs"
)


def with_database(uri: str, database: str) -> str:
    """``uri`` naming ``database`` instead; the user still authenticates where the URI said
    (a URI's database is also its default ``authSource``, so that is kept explicit)."""
    parts = urlsplit(uri)
    query = parse_qsl(parts.query, keep_blank_values=True)
    if not any(key.lower() == "authsource" for key, _ in query):
        query.append(("authSource", parts.path.strip("/") or "admin"))
    return urlunsplit((parts.scheme, parts.netloc, f"/{database}", urlencode(query), ""))


@contextmanager
def _server() -> Iterator[tuple[str, Callable[[str], str]]]:
    """(what the server is, database name -> URL); a real server's databases are dropped."""
    uri = os.environ.get(URI_ENV)
    if uri:
        created: list[str] = []

        def url(database: str) -> str:
            created.append(database)
            return with_database(uri, database)

        try:
            yield f"MongoDB from {URI_ENV}", url
        finally:
            client: MongoClient[dict[str, Any]]
            with MongoClient(uri) as client:
                for database in created:
                    client.drop_database(database)
        return
    from ..testing.mongowire import WireMongoServer

    with WireMongoServer() as server:
        yield NX_NOTE, server.url


def stored_bytes(url: str) -> dict[str, Any]:
    """BSON bytes of every document of the database at ``url``, and the server's index sizes."""
    with MongoClient(url, document_class=RawBSONDocument) as client:
        db = client.get_default_database()
        bson = index = 0
        per_collection: dict[str, int] = {}
        for name in db.list_collection_names():
            size = sum(len(doc.raw) for doc in db[name].find())
            per_collection[name] = size
            bson += size
            index += int(db.command("collStats", name).get("totalIndexSize") or 0)
        if not index:  # nx-27017 reports its indexes for the database only
            index = int(db.command("dbStats").get("indexSize") or 0)
    return {"bson_bytes": bson, "index_bytes": index, "bson_bytes_by_collection": per_collection}


def _store_alone(records: list[RecordDoc], url: str) -> float:
    store = open_store(url)
    try:
        t0 = time.perf_counter()
        for start in range(0, len(records), 1000):
            store.apply(WriteBatch(records=records[start : start + 1000]))
        wall = time.perf_counter() - t0
    finally:
        store.close()
    return len(records) / wall if wall else 0.0


def mongo_phase(args: dict[str, Any]) -> dict[str, Any]:
    """Sync one hospital into MongoDB over the wire, then the store alone, then measure bytes."""
    spec = {"hospitals": 1, "patients": args["patients"], "obs_per_patient": 50}
    tag = secrets.token_hex(4)
    with _server() as (server, url), simulators(spec) as servers:
        e2e_url = url(f"sync2_bench_e2e_{tag}")
        store = open_store(e2e_url)
        pipeline = Pipeline(_config(servers, e2e_url), store)
        t0 = time.perf_counter()
        try:
            ok = all(s.ok for s in pipeline.sync_all(concurrency=4, processes=0))
            wall = time.perf_counter() - t0
        finally:
            pipeline.close()
        source = servers[0]["id"]
        obs = store.count_records(source, "Observation", valid_only=True)
        records = [RecordDoc(**doc) for doc in store.find_records(source, "Observation")]
        store.close()
        sizes = stored_bytes(e2e_url)
        raw_obs_per_s = _store_alone(records, url(f"sync2_bench_raw_{tag}"))
    total = sizes["bson_bytes"] + sizes["index_bytes"]
    return {
        "server": server,
        "ok": ok,
        "obs": obs,
        "expected_obs": servers[0]["observations"],
        "obs_per_s": obs / wall if wall else 0.0,
        "raw_obs_per_s": raw_obs_per_s,
        **sizes,
        "bytes_per_obs": total / obs if obs else None,
        "bson_bytes_per_obs": sizes["bson_bytes"] / obs if obs else None,
        "bytes_measured_as": MEASURED_AS,
    }
