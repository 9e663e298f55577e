"""``python -m pluginkit.cli``: the ``pluginkit`` command without its console script."""

import sys

from pluginkit.cli import main

sys.exit(main())
