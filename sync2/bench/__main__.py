"""Child-process entry points of the benchmark (``python -m sync2.bench ...``)."""

from __future__ import annotations

import importlib
import json
import sys

#: phase name -> (module, function) of the parts that live in their own module
_LAZY = {
    "mysql": ("_mysql", "mysql_phase"),
    "face": ("_face", "face_phase"),
    "rest": ("_rest", "rest_phase"),
    "cost": ("_cost", "cost_phase"),
    "clinical": ("_clinical", "clinical_phase"),
    "mongo": ("_mongo", "mongo_phase"),
}


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "simulators":
        from ._simulators import serve_forever

        serve_forever(json.loads(argv[1]))
        return 0
    if len(argv) >= 3 and argv[0] == "phase":
        from ._phases import PHASES

        name, args = argv[1], json.loads(argv[2])
        if name in _LAZY:  # imported only when run: each brings its own dependencies
            module_name, function = _LAZY[name]
            module = importlib.import_module(f"sync2.bench.{module_name}")
            result = getattr(module, function)(args)
        else:
            result = PHASES[name](args)
        print(json.dumps(result, default=str), flush=True)
        return 0
    print("usage: python -m sync2.bench simulators SPEC | phase NAME ARGS", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
