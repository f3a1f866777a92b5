"""Serve the contract servers as `make run`'s local test Jira Cloud and Confluence Cloud
sites (#11 item 7, #12 item 5).

    python -m backups.devsite [--port 8001] [--confluence-port 8002]

Starts a JiraSite on 127.0.0.1:8001, seeded with demo content (projects live, archived and in
the trash; issues with ADF descriptions, comments and attachments; a gap in one project's
numbering, as deleted issues leave), and a ConfluenceSite on 127.0.0.1:8002 (its address
http://127.0.0.1:8002/wiki), seeded by confluence_demo.py (spaces global, personal and
archived; pages four deep, one trashed and one archived; blog posts; comments; labels;
attachments). It prints the accounts to connect with (the same on both) and serves until
SIGTERM or SIGINT. A newcomer can then click through connect → check → backup → restore
without an Atlassian account. It needs no Django: it starts in a moment and holds no database.

The Jira site is the one `make run` waits for: when the Confluence port is taken, the Jira site
still serves and the Confluence one is reported missing.
"""

import argparse
import random
import signal
import sys

from . import confluence_demo, local_site
from .confluence_site import ConfluenceSite
from .jira_site import JiraSite

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
# The server keeps a record of every request for the tests; a site that runs for days keeps
# only the newest.
KEEP_REQUESTS = 1000


def adf(*paragraphs: str) -> dict:
    """An Atlassian Document Format document, one paragraph each."""
    return {
        "type": "doc",
        "version": 1,
        "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": text}]}
            for text in paragraphs
        ],
    }


# key, name, state, issue numbers (SHOP's 7 and 8 were deleted: a gap, as on real sites)
PROJECTS = [
    ("SHOP", "Web shop", "live", [*range(1, 7), *range(9, 15)]),
    ("SUP", "Support desk", "live", list(range(1, 9))),
    ("MOB", "Mobile app 2024", "archived", list(range(1, 7))),
    ("LEGACY", "Legacy billing", "deleted", list(range(1, 5))),
]
SUMMARIES = [
    "Checkout button does nothing on Safari",
    "Add gift cards to the basket",
    "Order confirmation email is sent twice",
    "Search results ignore the size filter",
    "Customer cannot change the delivery address",
    "Speed up the product images",
    "Refund stays pending for a week",
    "Translate the returns page into German",
    "Password reset link expires too soon",
    "Show stock levels per shop",
]
STATUSES = ["To Do", "In Progress", "In Review", "Done"]
PRIORITIES = ["Low", "Medium", "High"]
ISSUE_TYPES = ["Task", "Bug", "Story"]
LABELS = ["backend", "frontend", "payments", "mobile", "ops"]
COMMENTS = [
    "I can reproduce this on the staging shop.",
    "Fixed in the next release, please check again then.",
    "The logs show a timeout from the payment provider.",
    "Customer confirmed it works now.",
]


def seed(site: JiraSite) -> None:
    """The demo content: 30 issues in four projects, the same every time."""
    rnd = random.Random("local test site")
    admin = site.add_account(
        local_site.ADMIN_EMAIL, local_site.ADMIN_TOKEN, name=local_site.ADMIN_NAME
    )
    member = site.add_account(
        local_site.MEMBER_EMAIL, local_site.MEMBER_TOKEN, admin=False, name=local_site.MEMBER_NAME
    )
    people = [admin, member]
    for key, name, state, numbers in PROJECTS:
        site.add_project(key, name, state=state, lead=admin)
        for number in numbers:
            summary = SUMMARIES[(number + len(key)) % len(SUMMARIES)]
            issue = site.add_issue(
                key,
                {
                    "summary": summary,
                    "description": adf(
                        f"{summary}.",
                        "Steps to reproduce: open the shop, follow the usual flow, see it fail.",
                    ),
                    "issuetype": {"name": rnd.choice(ISSUE_TYPES)},
                    "status": {"name": rnd.choice(STATUSES)},
                    "priority": {"name": rnd.choice(PRIORITIES)},
                    "labels": sorted(rnd.sample(LABELS, 2)),
                    "customfield_10016": rnd.choice([1, 2, 3, 5, 8]),  # story points
                },
                number=number,
            )
            for c in range(rnd.randrange(0, 4)):
                site.add_comment(issue["key"], adf(COMMENTS[c]), rnd.choice(people))
            if number % 4 == 1:
                rows = "".join(f"{day},{rnd.randrange(1000)}\n" for day in range(1, 31))
                name = f"{issue['key'].lower()}-orders.csv"
                site.add_attachment(issue["key"], name, f"day,orders\n{rows}".encode(), admin)
            if number % 5 == 2:
                notes = f"Notes on {issue['key']}: {summary}.\n" * 20
                site.add_attachment(issue["key"], "notes.txt", notes.encode(), member)


def banner(site: JiraSite) -> str:
    return (
        f"Local test Jira Cloud site (not a real Atlassian site) at {site.url}\n"
        f"  site admin: {local_site.ADMIN_EMAIL}  API token: {local_site.ADMIN_TOKEN}\n"
        f"  not an admin: {local_site.MEMBER_EMAIL}  API token: {local_site.MEMBER_TOKEN}"
    )


def confluence_banner(site: ConfluenceSite) -> str:
    return (
        f"Local test Confluence Cloud site (not a real Atlassian site) at {site.wiki_url}\n"
        f"  the same accounts: {local_site.ADMIN_EMAIL} (site admin), "
        f"{local_site.MEMBER_EMAIL} (not an admin)"
    )


def start_confluence(port: int) -> ConfluenceSite | None:
    """The local test Confluence site, or None (said on stderr) when its port is taken."""
    site = ConfluenceSite()
    confluence_demo.seed(site)
    try:
        site.start(port=port)
    except OSError as exc:
        print(
            f"The local test Confluence site cannot listen on {local_site.HOST}:{port}: "
            f"{exc.strerror}. The Jira site serves without it.",
            file=sys.stderr,
            flush=True,
        )
        return None
    return site


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Serve the local test Jira Cloud and Confluence Cloud sites."
    )
    parser.add_argument("--port", type=int, default=local_site.PORT)
    parser.add_argument("--confluence-port", type=int, default=local_site.CONFLUENCE_PORT)
    args = parser.parse_args(argv)

    # Blocked before the server's threads start, so that they inherit the mask and only the
    # sigtimedwait below receives the signals: the stop always runs to its end.
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    site = JiraSite()
    seed(site)
    try:
        site.start(port=args.port)
    except OSError as exc:
        print(
            f"The local test site cannot listen on {local_site.HOST}:{args.port}: "
            f"{exc.strerror}. Is another `make run` running?",
            file=sys.stderr,
            flush=True,
        )
        return 1
    print(banner(site), flush=True)
    confluence = start_confluence(args.confluence_port)
    if confluence:
        print(confluence_banner(confluence), flush=True)
    sites = [s for s in (site, confluence) if s]
    reported = {id(s): 0 for s in sites}
    try:
        while signal.sigtimedwait(STOP_SIGNALS, 1.0) is None:
            for each in sites:
                with each.lock:
                    # A schema violation is a bug in backupsite or in this server: say so
                    # at once.
                    for violation in each.violations[reported[id(each)] :]:
                        print(f"local test site: schema violation: {violation}", file=sys.stderr)
                    reported[id(each)] = len(each.violations)
                    del each.requests[:-KEEP_REQUESTS]
    finally:
        for each in sites:
            each.stop()
    return 0
