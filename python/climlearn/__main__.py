"""``python -m climlearn`` is the ``climlearn`` command."""

import sys

from .cli import main

sys.exit(main())
