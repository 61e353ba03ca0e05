"""``python -m nnmf``: the ``nnmf`` command."""

import sys

from .cli import main

sys.exit(main())
