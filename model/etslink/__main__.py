"""Allow `python -m etslink`."""

import sys

from etslink.cli import main

sys.exit(main())
