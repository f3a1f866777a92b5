"""Django admin for staff (SPEC §8): every model listed, searchable, and the enroll action."""

from datetime import UTC, datetime

import pytest
from django.contrib import admin
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from backups.demo import seed_local_site_connection
from backups.models import AuditEvent, JiraIssue, JiraProject, Organization, Product
from backups.services.audit import record_event
from backups.services.files import backup_file_request
from backups.services.restores import restore_request
from tests.services.helpers import run_backup_of

BACKUPS_MODELS = [m for m in admin.site._registry if m._meta.app_label == "backups"]


@pytest.fixture
def staff_client(client, demo):
    client.force_login(demo.staff)
    return client


def admin_url(model, view, *args):
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_every_backups_model_is_registered():
    names = {m.__name__ for m in BACKUPS_MODELS}
    assert names == {
        "Organization",
        "Membership",
        "OrgGroup",
        "Product",
        "ProductAccess",
        "ProductAccessDecision",
        "JiraProject",
        "JiraIssue",
        "JiraComment",
        "JiraAttachment",
        "Space",
        "Page",
        "PageComment",
        "PageAttachment",
        "AuditEvent",
        "BackupPolicy",
        "Backup",
        "BackupFile",
        "Restore",
        "SiteConnection",
        "Upload",
        "DownloadLink",
        "WebhookEndpoint",
        "WebhookDelivery",
        "BackupExpiryNotice",
        "BackupVerification",
        "ApiToken",
    }


@pytest.mark.parametrize(
    "model", list(admin.site._registry), ids=lambda m: f"{m._meta.app_label}.{m.__name__}"
)
def test_changelist_and_change_page_answer_200(staff_client, demo, model):
    seed_local_site_connection(demo.acme, demo.alice)  # a SiteConnection, as `make run` has
    record_event(action="test.event", actor=demo.staff, organization=demo.acme, target="x")
    backup = run_backup_of(demo.jira, demo.alice)
    backup_file_request(backup=backup, actor=demo.alice)
    restore_request(backup=backup, destination=demo.jira_sandbox, actor=demo.alice)
    rows_the_demo_lacks(demo, backup)

    response = staff_client.get(admin_url(model, "changelist"))
    assert response.status_code == 200

    obj = model._default_manager.order_by("pk").first()
    if model._meta.app_label == "backups":
        assert obj is not None, "the demo data has a row of every backups model"
    if obj is not None:
        response = staff_client.get(admin_url(model, "change", obj.pk))
        assert response.status_code == 200


def rows_the_demo_lacks(demo, backup) -> None:
    """A product access decision, an upload, a download link and a webhook endpoint, made as
    the pages make them."""
    from django.utils import timezone

    from backups.models import DownloadLink, ProductAccess, Upload
    from backups.services.groups import product_access_decide

    access = ProductAccess.objects.filter(product=demo.jira).first()
    product_access_decide(access=access, decision="revoked", actor=demo.alice)
    now = timezone.now()
    Upload.objects.create(
        organization=demo.acme,
        created_by=demo.alice,
        file_name="acme-jira.zip",
        declared_size=44_214,
        storage_name="uploads/1",
        created_at=now,
        updated_at=now,
    )
    DownloadLink.objects.create(
        backup_file=backup.file,
        user=demo.alice,
        number=1,
        token_hash="0" * 64,
        size=44_214,
        budget=44_214,
        created_at=now,
        expires_at=now,
    )
    # A4: an endpoint and a test delivery as the Webhooks page makes them; an expiry notice.
    from backups.models import BackupExpiryNotice
    from backups.services.webhooks import webhook_endpoint_create, webhook_send_test

    endpoint, _secret = webhook_endpoint_create(
        organization=demo.acme,
        actor=demo.alice,
        url="https://hooks.example.com/x",
        events=["backup.finished"],
    )
    webhook_send_test(endpoint=endpoint, actor=demo.alice)
    BackupExpiryNotice.objects.create(backup=backup)
    # K2: a token as the API tokens page makes it.
    from backups.api.tokens import api_token_create

    api_token_create(organization=demo.acme, actor=demo.alice, name="nightly check")


def test_organization_search(staff_client, demo):
    response = staff_client.get(admin_url(Organization, "changelist"), {"q": "glob"})
    assert list(response.context["cl"].result_list) == [demo.globex]

    response = staff_client.get(admin_url(Organization, "changelist"), {"q": "acme"})
    assert list(response.context["cl"].result_list) == [demo.acme]


def test_organization_list_counts_members_and_products(staff_client, demo):
    response = staff_client.get(admin_url(Organization, "changelist"))
    rows = {o.slug: (o._member_count, o._product_count) for o in response.context["cl"].result_list}
    assert rows == {"acme": (2, 4), "globex": (1, 1)}


def test_jira_issue_search(staff_client, demo):
    url = admin_url(JiraIssue, "changelist")

    response = staff_client.get(url, {"q": "OPS-3"})
    keys = {i.key for i in response.context["cl"].result_list}
    assert "OPS-3" in keys
    assert all(k.startswith("OPS-3") for k in keys)

    response = staff_client.get(url, {"q": "signing keys"})
    results = list(response.context["cl"].result_list)
    assert results
    assert all("signing keys" in i.summary for i in results)
    assert len(results) < JiraIssue.objects.count()


def run_action(client, action, *orgs):
    return client.post(
        admin_url(Organization, "changelist"),
        {"action": action, admin.helpers.ACTION_CHECKBOX_NAME: [o.pk for o in orgs]},
        follow=True,
    )


def test_enroll_action_enrolls_once_and_is_audited(staff_client, demo):
    assert not demo.globex.enrolled

    response = run_action(staff_client, "enroll", demo.globex)
    assert response.status_code == 200
    demo.globex.refresh_from_db()
    assert demo.globex.enrolled
    event = AuditEvent.objects.get(action="organization.enrolled")
    assert event.actor == demo.staff
    assert event.organization == demo.globex
    assert "1 organization enrolled" in response.content.decode()

    # Again: nothing changes, nothing new is recorded.
    response = run_action(staff_client, "enroll", demo.globex)
    demo.globex.refresh_from_db()
    assert demo.globex.enrolled
    assert AuditEvent.objects.filter(action="organization.enrolled").count() == 1
    assert "Nothing changed" in response.content.decode()


def test_enroll_action_counts_only_the_organizations_it_changed(staff_client, demo):
    response = run_action(staff_client, "enroll", demo.acme, demo.globex)
    assert "1 organization enrolled" in response.content.decode()
    assert list(AuditEvent.objects.values_list("organization__slug", flat=True)) == ["globex"]


def test_unenroll_action(staff_client, demo):
    response = run_action(staff_client, "unenroll", demo.acme)
    assert response.status_code == 200
    demo.acme.refresh_from_db()
    assert not demo.acme.enrolled
    event = AuditEvent.objects.get()
    assert (event.action, event.actor, event.organization) == (
        "organization.unenrolled",
        demo.staff,
        demo.acme,
    )
    assert "1 organization unenrolled" in response.content.decode()


def test_editing_the_enrolled_flag_in_the_form_is_audited(staff_client, demo):
    response = staff_client.post(
        admin_url(Organization, "change", demo.globex.pk),
        {"name": "Globex", "slug": "globex", "enrolled": "on"},
    )
    assert response.status_code == 302
    demo.globex.refresh_from_db()
    assert demo.globex.enrolled
    assert AuditEvent.objects.get().action == "organization.enrolled"

    # Saving without touching the flag records nothing.
    staff_client.post(
        admin_url(Organization, "change", demo.globex.pk),
        {"name": "Globex Corp", "slug": "globex", "enrolled": "on"},
    )
    assert AuditEvent.objects.count() == 1


def test_audit_events_are_read_only(staff_client, demo):
    event = record_event(action="test.event", actor=demo.staff, target="x")

    assert staff_client.get(admin_url(AuditEvent, "add")).status_code == 403
    assert staff_client.get(admin_url(AuditEvent, "delete", event.pk)).status_code == 403
    response = staff_client.post(admin_url(AuditEvent, "change", event.pk), {"action": "edited"})
    assert response.status_code == 403
    event.refresh_from_db()
    assert event.action == "test.event"

    response = staff_client.get(admin_url(AuditEvent, "changelist"))
    model_admin = response.context["cl"].model_admin
    assert "delete_selected" not in model_admin.get_actions(response.wsgi_request)
    assert not response.context["has_add_permission"]


def test_non_staff_user_is_sent_to_the_admin_login(client, demo):
    client.force_login(demo.alice)
    url = admin_url(Organization, "changelist")
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))


def count_queries(client, url):
    with CaptureQueriesContext(connection) as ctx:
        response = client.get(url)
    assert response.status_code == 200
    return len(ctx.captured_queries), len(response.context["cl"].result_list)


def test_jira_issue_changelist_queries_do_not_grow_with_rows(
    staff_client, demo, django_assert_max_num_queries
):
    url = admin_url(JiraIssue, "changelist")
    staff_client.get(url)  # warm up: session, content types
    few_queries, few_rows = count_queries(staff_client, url)

    product = Product.objects.create(organization=demo.globex, name="Globex Jira 2", kind="jira")
    when = datetime(2026, 9, 1, tzinfo=UTC)
    for n in range(50):
        # A project per issue: a missing select_related would cost one query per row.
        project = JiraProject.objects.create(product=product, key=f"P{n}", name=f"Project {n}")
        JiraIssue.objects.create(
            product=product,
            project=project,
            key=f"P{n}-1",
            summary=f"Issue {n}",
            status="To Do",
            created=when,
            updated=when,
        )

    with django_assert_max_num_queries(few_queries):
        response = staff_client.get(url)
    per_page = admin.site._registry[JiraIssue].list_per_page
    assert len(response.context["cl"].result_list) == min(few_rows + 50, per_page)


# --- Backups: "Expire now" and "Mark failed" go through the services (SPEC §8) ---------------


def test_expire_now_action_expires_a_complete_backup_and_deletes_its_data(staff_client, demo):
    from backups import storage
    from backups.models import Backup

    backup = run_backup_of(demo.jira, demo.alice)
    assert storage.list_prefix(backup.storage_prefix)

    response = staff_client.post(
        admin_url(Backup, "changelist"),
        {"action": "expire_now", "_selected_action": [backup.pk]},
        follow=True,
    )

    assert "1 backup(s) expired." in response.content.decode()
    backup.refresh_from_db()
    assert backup.status == Backup.Status.EXPIRED
    assert storage.list_prefix(backup.storage_prefix) == []
    assert AuditEvent.objects.filter(action="backup.expired", actor=demo.staff).count() == 1


def test_mark_failed_action_fails_only_in_progress_backups(staff_client, demo):
    from backups.models import Backup, BackupPolicy
    from backups.services.backups import backup_request

    done = run_backup_of(demo.jira, demo.alice)
    BackupPolicy.objects.create(product=demo.confluence)
    stuck = backup_request(product=demo.confluence, actor=demo.alice)

    response = staff_client.post(
        admin_url(Backup, "changelist"),
        {"action": "mark_failed", "_selected_action": [done.pk, stuck.pk]},
        follow=True,
    )

    page = response.content.decode()
    assert "1 backup(s) marked failed. 1 skipped: only IN_PROGRESS backups can fail." in page
    stuck.refresh_from_db()
    done.refresh_from_db()
    assert stuck.status == Backup.Status.FAILED
    assert stuck.failure_reason == "Marked failed by staff (staff)."
    assert done.status == Backup.Status.COMPLETE


def test_backup_status_cannot_be_edited_in_admin(staff_client, demo):
    from backups.models import Backup

    backup = run_backup_of(demo.jira, demo.alice)
    staff_client.post(admin_url(Backup, "change", backup.pk), {"status": "FAILED"})
    backup.refresh_from_db()
    assert backup.status == Backup.Status.COMPLETE


def test_mark_failed_action_on_a_stuck_restore(staff_client, demo):
    from backups.models import Restore

    backup = run_backup_of(demo.jira, demo.alice)
    stuck = restore_request(backup=backup, destination=demo.jira_sandbox, actor=demo.alice)
    response = staff_client.post(
        admin_url(Restore, "changelist"),
        {"action": "mark_failed", "_selected_action": [stuck.pk]},
        follow=True,
    )
    assert "1 restore(s) marked failed." in response.content.decode()
    stuck.refresh_from_db()
    assert (stuck.status, stuck.failure_reason) == ("FAILED", "Marked failed by staff (staff).")


def test_staff_see_api_tokens_without_their_hash_and_can_revoke_one(staff_client, demo):
    """K2: staff find a token by its name or prefix; its hash never reaches the page; revoking
    stops it at once and is audited."""
    from backups.api.tokens import (
        TokenRefused,
        api_token_authenticate,
        api_token_create,
        token_hash,
    )
    from backups.models import ApiToken

    api_token, secret = api_token_create(
        organization=demo.acme, actor=demo.alice, name="nightly check"
    )
    response = staff_client.get(admin_url(ApiToken, "changelist"), {"q": api_token.prefix})
    assert list(response.context["cl"].result_list) == [api_token]
    page = staff_client.get(admin_url(ApiToken, "change", api_token.pk)).content.decode()
    assert "nightly check" in page
    assert token_hash(secret) not in page and secret not in page

    response = staff_client.post(
        admin_url(ApiToken, "changelist"),
        {"action": "revoke", "_selected_action": [api_token.pk]},
        follow=True,
    )
    assert "1 token(s) revoked." in response.content.decode()
    api_token.refresh_from_db()
    assert api_token.revoked_at is not None
    assert AuditEvent.objects.filter(action="token.revoked").count() == 1
    with pytest.raises(TokenRefused, match="This API token was revoked on"):
        api_token_authenticate(token=secret, address="127.0.0.1")
