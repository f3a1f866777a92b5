"""`python -m backups.devsite`: the local test Jira Cloud site of `make run` (serve.py)."""

import sys

from .serve import main

sys.exit(main())
