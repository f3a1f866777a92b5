"""`python -m backups.devsite`: the local test Jira Cloud and Confluence Cloud sites of
`make run` (serve.py)."""

import sys

from .serve import main

sys.exit(main())
