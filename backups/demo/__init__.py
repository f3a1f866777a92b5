"""The demo: seed data for `manage.py seed_demo`, `make run` and the browser tests (SPEC §8).

Not a service (it is never called by a page or a job): it lives beside the app's code, not in
services/. `seed.py` writes it; its public names are here.
"""

from .seed import (
    DEMO_LOGINS,
    DEMO_PASSWORD,
    LOCAL_CONFLUENCE_PRODUCT,
    LOCAL_SITE_PRODUCT,
    DemoLogin,
    make_attachment,
    png_bytes,
    seed_confluence,
    seed_demo,
    seed_jira,
    seed_local_site_connection,
)

__all__ = [
    "DEMO_LOGINS",
    "DEMO_PASSWORD",
    "LOCAL_CONFLUENCE_PRODUCT",
    "LOCAL_SITE_PRODUCT",
    "DemoLogin",
    "make_attachment",
    "png_bytes",
    "seed_confluence",
    "seed_demo",
    "seed_jira",
    "seed_local_site_connection",
]
