"""``python -m twinmlp`` runs the command line."""

import sys

from twinmlp.cli import main

sys.exit(main())
