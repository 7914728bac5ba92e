"""Child-process entry points of the benchmark (``python -m sync2.bench ...``)."""

from __future__ import annotations

import json
import sys


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "simulators":
        from ._simulators import serve_forever

        serve_forever(json.loads(argv[1]))
        return 0
    if len(argv) >= 3 and argv[0] == "phase":
        from ._phases import PHASES

        name, args = argv[1], json.loads(argv[2])
        if name == "mysql":
            from ._mysql import mysql_phase

            result = mysql_phase(args)
        elif name == "face":
            from ._face import face_phase

            result = face_phase(args)
        elif name == "rest":
            from ._rest import rest_phase

            result = rest_phase(args)
        else:
            result = PHASES[name](args)
        print(json.dumps(result, default=str), flush=True)
        return 0
    print("usage: python -m sync2.bench simulators SPEC | phase NAME ARGS", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
