"""Train the zstd dictionary the passport store compresses records against (sync2/store/_codec).

The samples are the stored frames of a simulated sync (synthetic patients only: no real
hospital data goes into the dictionary, which ships in the package). A dictionary once shipped
is never removed: stored frames name the dictionary they need.

    .venv/bin/python scripts/train_store_dictionary.py sync2/store/dictionaries/records-2.zdict
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import orjson

from mappers.documents import RECORD_RESOURCE_TYPES, RecordDoc
from sync2.demo import config_for_servers
from sync2.pipeline import Pipeline
from sync2.simulator import generate_hospitals, serve_hospitals
from sync2.store import open_store
from sync2.store._codec import MONGO_PACKED, record_value, zstd

SIZE = 32 * 1024


def samples(workdir: Path) -> list[bytes]:
    """Frames of every record a simulated three-hospital sync stores, in both store shapes."""
    url = f"sqlite:///{workdir / 'train.db'}"
    hospitals = generate_hospitals(n=3, patients=60, obs_per_patient=20, seed=20, clinical=True)
    with serve_hospitals(hospitals) as servers:
        store = open_store(url)
        pipeline = Pipeline(config_for_servers(servers, url), store)
        try:
            assert all(s.ok for s in pipeline.sync_all())
            out: list[bytes] = []
            for server in servers:
                for rtype in RECORD_RESOURCE_TYPES:
                    for doc in store.find_records(server.hospital.id, rtype):
                        out.append(orjson.dumps(record_value(RecordDoc(**doc)), default=str))
                        mongo = {k: doc[k] for k in MONGO_PACKED if k in doc}
                        out.append(orjson.dumps(mongo, default=str))
        finally:
            pipeline.close()
            store.close()
    return out


def main(target: str) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        found = samples(Path(tmp))
    zdict = zstd.train_dict(found, SIZE)
    Path(target).write_bytes(zdict.dict_content)
    print(
        f"{target}: dictionary {zdict.dict_id}, {len(zdict.dict_content)} bytes, "
        f"{len(found)} samples"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
