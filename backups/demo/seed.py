"""Demo data: two organizations, their users, and real-looking Jira and Confluence content.

Idempotent: running it again creates nothing twice (content is only added to an empty product).
Deterministic: the same content every time, so tests can count on it.
"""

import hashlib
import random
import struct
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.db import transaction

from backups import credentials
from backups.devsite import local_site
from backups.models import (
    BackupPolicy,
    JiraAttachment,
    JiraComment,
    JiraIssue,
    JiraProject,
    Membership,
    Organization,
    OrgGroup,
    Page,
    PageAttachment,
    PageComment,
    Product,
    ProductAccess,
    SiteConnection,
    Space,
)
from backups.productdata import for_product
from backups.rules.schedules import next_weekly_slot

DEMO_PASSWORD = "backupsite-demo"  # noqa: S105 - documented in README; seed_demo refuses without DEBUG
EPOCH = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


# A connected product whose site is `make run`'s local test site (backups/devsite): connect →
# check → backup → restore without an Atlassian account. The name says what it is.
LOCAL_SITE_PRODUCT = "Acme Jira Cloud (local test site)"
LOCAL_CONFLUENCE_PRODUCT = "Acme Confluence Cloud (local test site)"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    role: str


DEMO_LOGINS = [
    DemoLogin("alice", "org admin of Acme (enrolled)"),
    DemoLogin("bob", "member of Acme (not an org admin)"),
    DemoLogin("carol", "org admin of Globex (not enrolled)"),
    DemoLogin("staff", "staff superuser, for /admin/"),
]

JIRA_PROJECTS = [
    ("ACME", "Acme Platform", "active", 14),
    ("OPS", "Operations", "active", 8),
    ("WEB", "Website 2025", "archived", 5),
    ("OLD", "Legacy CRM", "trashed", 3),
]
ISSUE_SUMMARIES = [
    "Login page times out behind the proxy",
    "Add CSV export to the billing report",
    "Upgrade PostgreSQL to 16",
    "Search ignores accented characters",
    "Nightly import job leaks file handles",
    "Dark mode for the dashboard",
    "Rotate the API signing keys",
    "Customer cannot reset password on mobile",
    "Document the on-call rotation",
    "Rate-limit the public API",
    "Move assets to the CDN",
    "Flaky test in payments suite",
    "Audit log misses role changes",
    "Slow query on the orders page",
]
STATUSES = ["To Do", "In Progress", "In Review", "Done"]
PEOPLE = ["Alice Admin", "Bob Builder", "Dana Dev", "Eve Ops"]

SPACES = [
    # key, name, kind, state
    ("ENG", "Engineering", "global", "active"),
    ("HR", "People and HR", "global", "archived"),
    ("OLDWIKI", "Old intranet", "global", "trashed"),
    ("~alice", "Alice Admin", "personal", "active"),
    ("~bob", "Bob Builder", "personal", "active"),
]


def png_bytes(width: int, height: int, seed: int) -> bytes:
    """A small real PNG image (a colour gradient), made without any imaging library."""
    rnd = random.Random(seed)
    r0, g0, b0 = rnd.randrange(256), rnd.randrange(256), rnd.randrange(256)
    # Each scanline: filter byte 0, then RGB pixels.
    raw = b"".join(
        b"\x00"
        + b"".join(bytes(((r0 + x * 3) % 256, (g0 + y * 3) % 256, b0)) for x in range(width))
        for y in range(height)
    )

    def chunk(tag: bytes, data: bytes) -> bytes:
        body = tag + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def make_attachment(model, *, product, name: str, data: bytes, created, **owner):
    obj = model(
        product=product,
        name=name,
        size=len(data),
        sha256=hashlib.sha256(data).hexdigest(),
        created=created,
        **owner,
    )
    obj.file.save(name, ContentFile(data), save=False)
    obj.save()
    return obj


def seed_jira(product: Product) -> None:
    rnd = random.Random(product.name)
    for p_index, (key, name, state, n_issues) in enumerate(JIRA_PROJECTS):
        project = JiraProject.objects.create(product=product, key=key, name=name, state=state)
        for i in range(1, n_issues + 1):
            created = EPOCH + timedelta(days=p_index * 3 + i, hours=rnd.randrange(9))
            issue = JiraIssue.objects.create(
                product=product,
                project=project,
                key=f"{key}-{i}",
                summary=ISSUE_SUMMARIES[(i + p_index) % len(ISSUE_SUMMARIES)],
                description=(
                    f"Reported by {rnd.choice(PEOPLE)}.\n\nSteps to reproduce:\n"
                    f"1. Open {name}.\n2. Follow the usual flow.\n3. See the problem."
                ),
                status=rnd.choice(STATUSES),
                fields={
                    "priority": rnd.choice(["Low", "Medium", "High"]),
                    "assignee": rnd.choice(PEOPLE),
                    "labels": rnd.sample(["backend", "frontend", "ops", "security"], 2),
                    "story_points": rnd.choice([1, 2, 3, 5, 8]),
                },
                created=created,
                updated=created + timedelta(hours=rnd.randrange(1, 72)),
            )
            for c in range(rnd.randrange(0, 4)):
                JiraComment.objects.create(
                    issue=issue,
                    author=rnd.choice(PEOPLE),
                    body=f"Looked into this ({c + 1}): {rnd.choice(ISSUE_SUMMARIES).lower()}.",
                    created=created + timedelta(hours=c + 1),
                )
            if i % 3 == 1:
                make_attachment(
                    JiraAttachment,
                    product=product,
                    issue=issue,
                    name=f"screenshot-{issue.key}.png",
                    data=png_bytes(48, 32, seed=zlib.crc32(f"{key}-{i}".encode())),
                    created=created,
                )
            if i % 5 == 2:
                rows = "\n".join(f"{d},{rnd.randrange(1000)}" for d in range(200))
                make_attachment(
                    JiraAttachment,
                    product=product,
                    issue=issue,
                    name=f"{key.lower()}-report.csv",
                    data=f"day,value\n{rows}\n".encode(),
                    created=created,
                )


def seed_confluence(product: Product) -> None:
    rnd = random.Random(product.name)
    for s_index, (key, name, kind, state) in enumerate(SPACES):
        space = Space.objects.create(product=product, key=key, name=name, kind=kind, state=state)
        created = EPOCH + timedelta(days=s_index)
        home = Page.objects.create(
            space=space,
            title=f"{name} home",
            body=f"<p>Welcome to the {name} space.</p>",
            version=3,
            created=created,
            updated=created + timedelta(days=1),
        )
        for t in range(3):
            section = Page.objects.create(
                space=space,
                parent=home,
                title=f"{name}: {['How-to guides', 'Decisions', 'Meeting notes'][t]}",
                body="<p>Section overview.</p>",
                version=rnd.randrange(1, 6),
                created=created + timedelta(hours=t + 1),
                updated=created + timedelta(hours=t + 2),
            )
            for c in range(2):
                child = Page.objects.create(
                    space=space,
                    parent=section,
                    title=f"{section.title} — item {c + 1}",
                    body=f"<p>{rnd.choice(ISSUE_SUMMARIES)}.</p>",
                    version=1,
                    created=created + timedelta(hours=t + c + 3),
                    updated=created + timedelta(hours=t + c + 4),
                )
                PageComment.objects.create(
                    page=child,
                    author=rnd.choice(PEOPLE),
                    body="Thanks, this helped.",
                    created=child.created + timedelta(hours=1),
                )
        for b in range(2):
            post = Page.objects.create(
                space=space,
                kind=Page.Kind.BLOGPOST,
                title=f"{name} news #{b + 1}",
                body="<p>What happened this week.</p>",
                version=1,
                created=created + timedelta(days=b + 2),
                updated=created + timedelta(days=b + 2),
            )
            PageComment.objects.create(
                page=post, author=rnd.choice(PEOPLE), body="Great update!", created=post.created
            )
        make_attachment(
            PageAttachment,
            product=product,
            page=home,
            name="diagram.png",
            data=png_bytes(64, 40, seed=s_index),
            created=created,
        )
        make_attachment(
            PageAttachment,
            product=product,
            page=home,
            name="notes.txt",
            data=f"Notes for {name}.\n".encode() * 50,
            created=created,
        )


def seed_local_site_connection(
    organization: Organization, actor, *, kind: str = Product.Kind.JIRA
) -> SiteConnection:
    """A connected product of the demo, pointing at the local test site's admin account:
    the Jira site (kind "jira") or the Confluence one ("confluence").

    Not through connection_create: that checks the site at once, and seed_demo runs before
    `make run` starts the site (and in tests, where nothing listens there), so the check
    would wait out its retries for a refused connection. The token is encrypted as the
    service encrypts it (backups/credentials.py); the first "Check now" checks it (C1).
    No backup policy here: on a development server seed_demo adds a weekly one (A1,
    seed_weekly_policy); elsewhere the org admin creates it on the page.
    """
    confluence = kind == Product.Kind.CONFLUENCE
    url = local_site.CONFLUENCE_URL if confluence else local_site.URL
    product, _ = Product.objects.get_or_create(
        organization=organization,
        name=LOCAL_CONFLUENCE_PRODUCT if confluence else LOCAL_SITE_PRODUCT,
        defaults={"kind": kind, "url": url},
    )
    connection, _ = SiteConnection.objects.get_or_create(
        product=product,
        defaults={
            "site_url": url,
            "email": local_site.ADMIN_EMAIL,
            "token_encrypted": credentials.encrypt(local_site.ADMIN_TOKEN),
            "created_by": actor,
        },
    )
    return connection


def seed_weekly_policy(product: Product, actor) -> BackupPolicy:
    """A1 in the demo: the local site's product is backed up weekly, on Sunday at 03:00 in
    the organization's time zone (the other demo products keep no policy: tests and people
    create theirs on the page)."""
    policy, created = BackupPolicy.objects.get_or_create(
        product=product,
        defaults={
            "created_by": actor,
            "schedule": BackupPolicy.Schedule.WEEKLY,
            "schedule_weekday": BackupPolicy.Weekday.SUNDAY,
            "schedule_time": time(3, 0),
        },
    )
    if created:
        policy.next_run_at = next_weekly_slot(
            after=datetime.now(UTC),
            weekday=policy.schedule_weekday,
            at=policy.schedule_time,
            time_zone=product.organization.time_zone,
        )
        policy.save(update_fields=["next_run_at"])
    return policy


@transaction.atomic
def seed_demo(
    *, with_local_site: bool | None = None, with_weekly_policy: bool | None = None
) -> list[DemoLogin]:
    """Create the demo organizations, users, groups, products and content; skip what exists.

    `with_local_site` adds the connected product of `make run`'s local test site. By default
    it does on a development server (DEBUG, which `manage.py seed_demo` requires), and not in
    the test suite (pytest-django runs with DEBUG off), whose tests count the demo's products.
    `with_weekly_policy` (the same default) gives that product a weekly schedule (A1), so
    `make run` shows a scheduled backup and its next run.
    """
    User = get_user_model()
    users = {}
    for login in DEMO_LOGINS:
        user, created = User.objects.get_or_create(
            username=login.username,
            defaults={"email": f"{login.username}@example.com", "first_name": login.username},
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            if login.username == "staff":
                user.is_staff = user.is_superuser = True
            user.save()
        users[login.username] = user

    acme, _ = Organization.objects.get_or_create(
        slug="acme", defaults={"name": "Acme", "enrolled": True}
    )
    globex, _ = Organization.objects.get_or_create(
        slug="globex", defaults={"name": "Globex", "enrolled": False}
    )
    for username, org, role in [
        ("alice", acme, Membership.Role.ADMIN),
        ("bob", acme, Membership.Role.MEMBER),
        ("carol", globex, Membership.Role.ADMIN),
    ]:
        Membership.objects.get_or_create(
            user=users[username], organization=org, defaults={"role": role}
        )

    products = {}
    for org, name, kind, url in [
        (acme, "Acme Jira", "jira", "acme.example/jira"),
        (acme, "Acme Confluence", "confluence", "acme.example/wiki"),
        (acme, "Acme Jira sandbox", "jira", "acme-sandbox.example/jira"),
        (acme, "Acme Confluence sandbox", "confluence", "acme-sandbox.example/wiki"),
        (globex, "Globex Jira", "jira", "globex.example/jira"),
    ]:
        products[name], _ = Product.objects.get_or_create(
            organization=org, name=name, defaults={"kind": kind, "url": url}
        )

    for name, members, access in [
        ("jira-users", ["alice", "bob"], ["Acme Jira"]),
        ("confluence-users", ["alice", "bob"], ["Acme Confluence"]),
        ("site-admins", ["alice"], ["Acme Jira", "Acme Confluence"]),
    ]:
        group, _ = OrgGroup.objects.get_or_create(organization=acme, name=name)
        group.members.add(*(users[m] for m in members))
        for product_name in access:
            ProductAccess.objects.get_or_create(group=group, product=products[product_name])

    if settings.DEBUG if with_local_site is None else with_local_site:
        connection = seed_local_site_connection(acme, users["alice"])
        seed_local_site_connection(acme, users["alice"], kind=Product.Kind.CONFLUENCE)
        if settings.DEBUG if with_weekly_policy is None else with_weekly_policy:
            seed_weekly_policy(connection.product, users["alice"])

    if for_product(products["Acme Jira"]).is_empty():
        seed_jira(products["Acme Jira"])
    if for_product(products["Acme Confluence"]).is_empty():
        seed_confluence(products["Acme Confluence"])
    if for_product(products["Globex Jira"]).is_empty():
        project = JiraProject.objects.create(
            product=products["Globex Jira"], key="GLX", name="Globex Core"
        )
        JiraIssue.objects.create(
            product=products["Globex Jira"],
            project=project,
            key="GLX-1",
            summary="Evaluate Backup and restore",
            status="To Do",
            created=EPOCH,
            updated=EPOCH,
        )
    return DEMO_LOGINS
