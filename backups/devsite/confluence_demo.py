"""The local test Confluence Cloud site's demo content (`make run`, #12 item 5): spaces
global, personal and archived; pages four deep with a trashed and an archived one; blog
posts; footer and inline comments; labels; small attachments. The same every time.
"""

from . import local_site
from .confluence_site import ConfluenceSite, Page

HANDBOOK = {
    "Engineering handbook": {
        "How we work": {
            "Code review": {"Review checklist": {}, "Pairing on reviews": {}},
            "Releases": {"Release checklist": {}, "Hotfixes": {}},
        },
        "Architecture": {
            "Services overview": {"Payments service": {}, "Search service": {}},
            "Decision records": {"ADR 1: Use PostgreSQL": {}, "ADR 2: One queue": {}},
        },
        "On-call": {"Runbooks": {"Database failover": {}, "Disk full": {}}},
    },
    "Team pages": {"Platform team": {"Quarterly goals": {}}, "Web team": {}},
}
LABELS = ["howto", "process", "architecture", "ops", "onboarding"]
COMMENTS = [
    "<p>Thanks, this saved me an hour today.</p>",
    "<p>Should we link the dashboard from here?</p>",
    "<p>Updated after the last incident review.</p>",
]


def _tree(site: ConfluenceSite, space, tree: dict, parent: Page | None, pages: list) -> None:
    for title, children in tree.items():
        n = len(pages)
        page = site.add_page(
            space,
            title,
            f"<h1>{title}</h1><p>{title} for the Acme engineering teams.</p>",
            parent=parent,
            labels=[LABELS[n % len(LABELS)]] if n % 3 == 0 else [],
        )
        pages.append(page)
        _tree(site, space, children, page, pages)


def seed(site: ConfluenceSite) -> None:
    """The demo content, with the same admin and member accounts as the Jira site."""
    admin = site.add_account(
        local_site.ADMIN_EMAIL, local_site.ADMIN_TOKEN, name=local_site.ADMIN_NAME
    )
    member = site.add_account(
        local_site.MEMBER_EMAIL, local_site.MEMBER_TOKEN, admin=False, name=local_site.MEMBER_NAME
    )
    eng = site.add_space("ENG", "Engineering", author=admin, description="How Acme builds.")
    pages: list[Page] = []
    _tree(site, eng, HANDBOOK, None, pages)
    site.add_page(eng, "Old deploy guide", "<p>Superseded by Releases.</p>", status="archived")
    site.add_page(eng, "Draft: team offsite", "<p>Ideas for the offsite.</p>", status="trashed")
    for n, page in enumerate(pages[::3]):
        site.add_comment(page, COMMENTS[n % len(COMMENTS)], author=member)
        if n % 2 == 0:
            site.add_comment(page, "<p>Is this still true?</p>", inline=True, author=admin)
    for n, page in enumerate(pages[1:11]):
        rows = "".join(f"{day},{(day * 37 + n) % 100}\n" for day in range(1, 15))
        site.add_attachment(page, f"figures-{n + 1}.csv", f"day,value\n{rows}".encode(), "text/csv")
    site.add_blogpost(eng, "We moved to the new CI", "<p>Builds are twice as fast.</p>")
    welcome = "<p>Say hello in #general.</p>"
    site.add_blogpost(eng, "Welcome, new joiners", welcome, labels=["onboarding"])
    site.add_blogpost(eng, "Cancelled: hack day", "<p>Moved to spring.</p>", status="trashed")

    support = site.add_space("SUP", "Customer support", author=admin)
    faq = site.add_page(support, "FAQ", "<p>Answers to the questions customers ask.</p>")
    for question in ("Refunds", "Delivery times", "Changing an order"):
        site.add_page(support, question, f"<p>{question}: what to tell customers.</p>", parent=faq)
    site.add_blogpost(support, "New refund policy", "<p>Refunds within 30 days.</p>")

    old = site.add_space("MOB24", "Mobile app 2024", status="archived", author=admin)
    site.add_page(old, "Launch plan", "<p>The 2024 launch, for the record.</p>")

    dana = site.add_space("~dana", local_site.MEMBER_NAME, type="personal", author=member)
    site.add_page(dana, "My notes", "<p>Things to remember.</p>", author=member)
