"""``python -m eval.cli`` is ``turnmem``."""

import sys

from eval.cli import main

sys.exit(main())
