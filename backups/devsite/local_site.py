"""The local test sites of `make run` (SPEC §8 demo, #11 item 7, #12 item 5): where the Jira
Cloud and Confluence Cloud stand-ins listen and their accounts (the same on both).

Only constants here, no server: seed_demo (backups/demo/seed.py) imports them to point the
demo's connected product at the site, without pulling in the contract server and its schema
checker. The tokens are published on purpose: they open nothing but this local stand-in.
"""

from urllib.parse import urlsplit

HOST = "127.0.0.1"
PORT = 8001
URL = f"http://{HOST}:{PORT}"
CONFLUENCE_PORT = 8002
CONFLUENCE_URL = f"http://{HOST}:{CONFLUENCE_PORT}/wiki"  # as a person types a Confluence site

ADMIN_EMAIL = "site-admin@acme.example"
ADMIN_TOKEN = "local-test-site-token-not-a-secret"  # noqa: S105 - printed by `make run`
ADMIN_NAME = "Acme Site Admin"

# An account that can sign in but does not administer the site: connecting with it shows
# the refusal an org admin would get from a real site (C1).
MEMBER_EMAIL = "developer@acme.example"
MEMBER_TOKEN = "local-test-site-member-token"  # noqa: S105 - printed by `make run`
MEMBER_NAME = "Dana Developer"

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")


def is_local(url: str) -> bool:
    """Is `url` a site on this machine (a local test site, never a real Atlassian Cloud one)?"""
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        return False
    return host in LOCAL_HOSTS
