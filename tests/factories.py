"""Small, explicit test data (#13 item 17): an organization with its admin, a product of a kind
with as many projects and issues (or spaces and pages) as a test says, a COMPLETE backup.

A test built on these states its counts itself, so its assertions do not depend on what the
demo seed happens to hold (the demo stays for the browser tests and the pages as a person sees
them). Every function writes through the models or the services, never around them.
"""

from datetime import UTC, datetime, timedelta

from django.contrib.auth import get_user_model

from backups.demo import make_attachment
from backups.models import (
    Backup,
    JiraAttachment,
    JiraComment,
    JiraIssue,
    JiraProject,
    Membership,
    Organization,
    Page,
    Product,
    Space,
)
from tests.services.helpers import run_backup_of

CREATED = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


def org_with_admin(slug: str = "acme", *, enrolled: bool = True, admin: str = ""):
    """An organization and its org admin (username `admin`, or "<slug>-admin")."""
    org = Organization.objects.create(name=slug.title(), slug=slug, enrolled=enrolled)
    user = member_of(org, admin or f"{slug}-admin", role=Membership.Role.ADMIN)
    return org, user


def member_of(org: Organization, username: str, *, role: str = Membership.Role.MEMBER):
    """A user of `org` with `role` (a plain member unless said)."""
    user = get_user_model().objects.create_user(username, password="unused")
    Membership.objects.create(user=user, organization=org, role=role)
    return user


def jira_product(
    org: Organization,
    name: str = "Jira",
    *,
    projects: int = 1,
    issues: int = 2,
    comments: int = 0,
    attachments: int = 0,
    states: tuple[str, ...] = ("active",),
) -> Product:
    """A Jira product: `projects` projects (P1, P2, …; their states taken in turn from
    `states`), each with `issues` issues, each issue with `comments` comments and
    `attachments` small attachment files."""
    product = Product.objects.create(organization=org, kind=Product.Kind.JIRA, name=name)
    for p in range(1, projects + 1):
        key = f"P{p}"
        project = JiraProject.objects.create(
            product=product, key=key, name=f"Project {p}", state=states[(p - 1) % len(states)]
        )
        for i in range(1, issues + 1):
            created = CREATED + timedelta(hours=i)
            issue = JiraIssue.objects.create(
                product=product,
                project=project,
                key=f"{key}-{i}",
                summary=f"Issue {i} of {key}",
                description=f"What happened in {key}-{i}.",
                status="To Do",
                created=created,
                updated=created,
            )
            for c in range(comments):
                JiraComment.objects.create(
                    issue=issue, author="Ann", body=f"Comment {c}", created=created
                )
            for a in range(attachments):
                attach(JiraAttachment, product, f"{key}-{i}-{a}.txt", issue=issue)
    return product


def confluence_product(
    org: Organization,
    name: str = "Confluence",
    *,
    spaces: int = 1,
    pages: int = 2,
    personal: int = 0,
) -> Product:
    """A Confluence product: `spaces` global spaces (S1, S2, …) and `personal` personal ones
    (~P1, …), each with `pages` pages under its home page (the home page not counted)."""
    product = Product.objects.create(organization=org, kind=Product.Kind.CONFLUENCE, name=name)
    keys = [(f"S{s}", Space.Kind.GLOBAL) for s in range(1, spaces + 1)]
    keys += [(f"~P{s}", Space.Kind.PERSONAL) for s in range(1, personal + 1)]
    for key, kind in keys:
        space = Space.objects.create(product=product, key=key, name=f"Space {key}", kind=kind)
        home = Page.objects.create(
            space=space, title=f"{key} home", body="<p>Home</p>", created=CREATED, updated=CREATED
        )
        space.homepage = home
        space.save(update_fields=["homepage"])
        for n in range(1, pages + 1):
            Page.objects.create(
                space=space,
                title=f"Page {n} of {key}",
                body=f"<p>Page {n}</p>",
                parent=home,
                created=CREATED,
                updated=CREATED,
            )
    return product


def attach(model, product: Product, name: str, **owner):
    """A small attachment file of `product`, stored as the demo stores its own."""
    data = f"contents of {name}\n".encode()
    return make_attachment(model, product=product, name=name, data=data, created=CREATED, **owner)


def complete_backup(product: Product, admin, **policy_options) -> Backup:
    """A COMPLETE backup of `product`, made as an admin makes one: its policy (with
    `policy_options`), Run backup, the engine."""
    backup = run_backup_of(product, admin, **policy_options)
    assert backup.status == Backup.Status.COMPLETE, backup.failure_reason or backup.missing
    return backup
