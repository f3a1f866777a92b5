"""Review product access (R7): approve, deny and revoke, each confirmed on its own page, and
the decisions kept with who and when (issue #13, item 7).

The data is small and made here: one organization, a product, two groups whose restored access
awaits approval. Every assertion is on what the admin reads or what the database now holds.
"""

import html
import re
from datetime import UTC, datetime

import pytest
import time_machine
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.urls import reverse

from backups.models import AuditEvent, Membership, OrgGroup, Product, ProductAccess
from backups.models.products import ProductAccessDecision
from backups.services.errors import Refused
from backups.services.groups import product_access_decide

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 12, 2, 14, 5, tzinfo=UTC)


def text(fragment: str | bytes) -> str:
    """What a person reads: tags removed, entities decoded, whitespace collapsed."""
    if isinstance(fragment, bytes):
        fragment = fragment.decode()
    fragment = re.sub(r"<(script|style)\b.*?</\1>", " ", fragment, flags=re.S)
    fragment = re.sub(r"<[^>]+>", " ", fragment)
    return re.sub(r"\s+", " ", html.unescape(fragment)).strip()


def section(page: bytes, element_id: str) -> str:
    """The words of the <section id=…> of a page."""
    found = re.search(rf'<section[^>]*id="{element_id}".*?</section>', page.decode(), re.S)
    assert found, f"no section #{element_id}"
    return text(found.group(0))


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


@pytest.fixture
def initech(make_org):
    """Initech: an admin (Ann Admin), a member, a Jira product and two restored groups whose
    access awaits approval: developers (2 members), testers (1 member)."""
    org, admin = make_org("initech")
    admin.first_name, admin.last_name = "Ann", "Admin"
    admin.save()
    User = get_user_model()
    member = User.objects.create_user("initech-member")
    Membership.objects.create(user=member, organization=org, role=Membership.Role.MEMBER)
    jira = Product.objects.create(organization=org, kind="jira", name="Initech Jira")
    developers = OrgGroup.objects.create(organization=org, name="developers")
    developers.members.add(admin, member)
    testers = OrgGroup.objects.create(organization=org, name="testers")
    testers.members.add(member)
    return {
        "org": org,
        "admin": admin,
        "member": member,
        "jira": jira,
        "developers": ProductAccess.objects.create(group=developers, product=jira, approved=False),
        "testers": ProductAccess.objects.create(group=testers, product=jira, approved=False),
    }


@pytest.fixture
def ann(client, initech):
    client.force_login(initech["admin"])
    return client


def url(name: str, *args) -> str:
    return reverse(name, args=["initech", *args])


def test_the_review_page_links_each_decision_to_its_confirmation_not_a_one_click_post(ann, initech):
    page = ann.get(url("product_access_review")).content
    pending = section(page, "pending")
    assert "developers Initech Jira 2 members" in pending
    assert "Approve… access of developers to Initech Jira" in pending
    assert "Deny… access of developers to Initech Jira" in pending
    # No form on the review page decides anything: every decision goes through a confirmation.
    assert 'method="post" action="' + url(
        "product_access_approve", initech["developers"].pk
    ) not in (page.decode())
    assert f'href="{url("product_access_approve", initech["developers"].pk)}"' in page.decode()
    assert "No decision yet." in section(page, "decisions")


@time_machine.travel(NOON, tick=False)
def test_approve_is_confirmed_names_what_changes_and_is_kept(ann, initech):
    access = initech["developers"]
    confirm = ann.get(url("product_access_approve", access.pk))
    assert confirm.status_code == 200
    words = text(confirm.content)
    assert "Approve access of developers to Initech Jira?" in words
    assert "The 2 members of developers will get access to Initech Jira." in words
    assert "This may affect your billing" in words
    assert "Members of developers: Ann Admin, initech-member." in words
    assert re.search(
        r'<button type="submit"[^>]*>Approve access</button>', confirm.content.decode()
    )
    # Looking at the confirmation changes nothing.
    access.refresh_from_db()
    assert access.approved is False

    done = ann.post(url("product_access_approve", access.pk), follow=True)
    assert messages_of(done) == ["Approved: developers now has access to Initech Jira."]
    access.refresh_from_db()
    assert access.approved is True
    assert "developers Initech Jira 2 members Approved Revoke…" in section(done.content, "approved")
    assert "developers" not in section(done.content, "pending")
    assert section(done.content, "decisions").endswith(
        "Approved developers Initech Jira 2 members Ann Admin 2 Dec 2026, 14:05 UTC"
    )
    event = AuditEvent.objects.get(action="product_access.approved")
    assert (event.actor, event.organization, event.details["members"]) == (
        initech["admin"],
        initech["org"],
        2,
    )


def test_deny_is_confirmed_and_the_denial_stays_visible(ann, initech):
    access = initech["testers"]
    words = text(ann.get(url("product_access_deny", access.pk)).content)
    assert "Deny access of testers to Initech Jira?" in words
    assert "testers will not get access to Initech Jira." in words
    assert "The group itself stays in the organization." in words

    done = ann.post(url("product_access_deny", access.pk), follow=True)
    assert messages_of(done)[0] == (
        "Denied: testers does not get access to Initech Jira. The group itself stays in the "
        "organization."
    )
    assert not ProductAccess.objects.filter(pk=access.pk).exists()
    assert OrgGroup.objects.filter(name="testers").exists()
    assert "Denied testers Initech Jira 1 member Ann Admin" in section(done.content, "decisions")
    assert AuditEvent.objects.filter(action="product_access.denied").count() == 1


def test_revoke_removes_the_applied_access_and_the_history_shows_both_decisions(ann, initech):
    access = initech["developers"]
    with time_machine.travel(NOON, tick=False):
        ann.post(url("product_access_approve", access.pk))

    words = text(ann.get(url("product_access_revoke", access.pk)).content)
    assert "Revoke access of developers to Initech Jira?" in words
    assert "The 2 members of developers will lose the access this group gives them" in words

    with time_machine.travel(datetime(2026, 12, 3, 9, 30, tzinfo=UTC), tick=False):
        done = ann.post(url("product_access_revoke", access.pk), follow=True)
    assert messages_of(done) == [
        "Revoked: developers no longer has access to Initech Jira. The group itself stays in "
        "the organization."
    ]
    assert not ProductAccess.objects.filter(pk=access.pk).exists()
    assert "developers" not in section(done.content, "approved")
    history = section(done.content, "decisions")
    assert (
        "Revoked developers Initech Jira 2 members Ann Admin 3 Dec 2026, 09:30 UTC "
        "Approved developers Initech Jira 2 members Ann Admin 2 Dec 2026, 14:05 UTC"
    ) in history
    assert AuditEvent.objects.filter(action="product_access.revoked").count() == 1


def test_a_decision_made_meanwhile_by_another_admin_is_said_not_repeated(ann, initech):
    access = initech["developers"]
    ann.post(url("product_access_approve", access.pk), follow=True)
    again = ann.post(url("product_access_approve", access.pk), follow=True)
    assert messages_of(again) == ["This product access was already reviewed."]
    denied = ann.post(url("product_access_deny", access.pk), follow=True)
    assert messages_of(denied) == ["This product access was already reviewed."]
    # A stale confirmation link goes back to the review, saying why.
    stale = ann.get(url("product_access_approve", access.pk), follow=True)
    assert messages_of(stale) == ["This product access was already reviewed."]
    pending = initech["testers"]
    early = ann.get(url("product_access_revoke", pending.pk), follow=True)
    assert messages_of(early) == [
        "This product access is not approved yet: approve or deny it first."
    ]
    ann.post(url("product_access_revoke", access.pk))
    twice = ann.post(url("product_access_revoke", access.pk))
    assert twice.status_code == 404  # the access is gone: nothing left to revoke
    assert ProductAccessDecision.objects.filter(access_id=access.pk).count() == 2


def test_another_organizations_admin_gets_404_and_changes_nothing(client, initech, make_org):
    _, stranger = make_org("globex-two")
    client.force_login(stranger)
    for name in ("product_access_approve", "product_access_deny", "product_access_revoke"):
        address = reverse(name, args=["initech", initech["developers"].pk])
        assert client.get(address).status_code == 404, address
        assert client.post(address).status_code == 404, address
    # Their own organization's address, with Initech's access id: not found either.
    address = reverse("product_access_approve", args=["globex-two", initech["developers"].pk])
    assert client.post(address).status_code == 404
    initech["developers"].refresh_from_db()
    assert initech["developers"].approved is False
    assert not ProductAccessDecision.objects.exists()


def test_a_plain_member_gets_403_and_changes_nothing(client, initech):
    client.force_login(initech["member"])
    for name in ("product_access_approve", "product_access_deny", "product_access_revoke"):
        address = url(name, initech["developers"].pk)
        assert client.get(address).status_code == 403
        assert client.post(address).status_code == 403
    assert not ProductAccessDecision.objects.exists()


# --- The service and the database (R7) -----------------------------------------------------


def test_the_service_refuses_a_decision_on_an_access_in_the_wrong_state(initech):
    access, actor = initech["developers"], initech["admin"]
    with pytest.raises(Refused, match="not approved yet: approve or deny it first"):
        product_access_decide(access=access, decision="revoked", actor=actor)
    product_access_decide(access=access, decision="approved", actor=actor)
    with pytest.raises(Refused, match="already reviewed"):
        product_access_decide(access=access, decision="denied", actor=actor)
    product_access_decide(access=access, decision="revoked", actor=actor)
    with pytest.raises(Refused, match="already revoked"):
        product_access_decide(access=access, decision="revoked", actor=actor)
    assert list(
        ProductAccessDecision.objects.order_by("id").values_list("decision", flat=True)
    ) == ["approved", "revoked"]


def _decision(initech, decision: str, access_id: int = 1):
    return ProductAccessDecision.objects.create(
        organization=initech["org"],
        access_id=access_id,
        group_name="developers",
        product_name="Initech Jira",
        decision=decision,
    )


@pytest.mark.parametrize(
    "first, second",
    [
        ("approved", "approved"),
        ("approved", "denied"),
        ("denied", "approved"),
        ("denied", "revoked"),
        ("revoked", "revoked"),
    ],
)
def test_the_database_keeps_one_decision_and_one_ending_per_access(initech, first, second):
    _decision(initech, first)
    with pytest.raises(IntegrityError), transaction.atomic():
        _decision(initech, second)


def test_the_database_allows_approved_then_revoked_and_refuses_an_unknown_decision(initech):
    _decision(initech, "approved")
    _decision(initech, "revoked")
    with pytest.raises(IntegrityError), transaction.atomic():
        _decision(initech, "maybe", access_id=2)
