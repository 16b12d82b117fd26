"""``python -m archsearch``: the same command line as the ``archsearch`` console script."""

import sys

from archsearch.cli import main

sys.exit(main())
