"""``python -m sync2.cli``: the same as the ``sync2`` console script."""

import sys

from . import app

if __name__ == "__main__":  # pragma: no cover
    sys.exit(app())
