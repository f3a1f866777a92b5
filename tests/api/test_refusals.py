"""K3: the API's refusals in the pages' words, its rate limit per token, its pages of rows; K2:
a token's last use is written at most once a minute. Every response is validated against the
OpenAPI document (conftest.py)."""

from datetime import timedelta

import time_machine
from django.utils import timezone

from backups import storage
from backups.models import ApiToken, Backup, Upload

from .conftest import error_of


def test_the_rate_limit_is_per_token_with_retry_after(api, world, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"token": "3/min"},
    }
    for _ in range(3):
        assert api.get("/api/v1/organization/", token=world.token).status_code == 200
    refused = api.get("/api/v1/organization/", token=world.token)
    assert refused.status_code == 429
    assert 1 <= int(refused["Retry-After"]) <= 60
    error = error_of(refused)
    assert error["code"] == "rate_limited"
    assert error["message"].startswith("Too many requests with this token. Try again in ")
    # Another token of the same organization has its own count.
    assert api.get("/api/v1/organization/", token=world.globex_token).status_code == 200


def test_last_use_is_written_at_most_once_a_minute(api, world):
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        api.get("/api/v1/organization/", token=world.token)
    token = ApiToken.objects.get(name="script")
    assert token.last_used_at == start and token.last_used_address == "127.0.0.1"
    with time_machine.travel(start + timedelta(seconds=59), tick=False):
        api.get("/api/v1/organization/", token=world.token)
    token.refresh_from_db()
    assert token.last_used_at == start
    with time_machine.travel(start + timedelta(seconds=61), tick=False):
        api.get("/api/v1/organization/", token=world.token)
    token.refresh_from_db()
    assert token.last_used_at == start + timedelta(seconds=61)


def test_a_second_policy_is_refused_with_p1s_words(api, world):
    response = api.post("/api/v1/policies/", token=world.token, json={"product": world.jira.pk})
    assert response.status_code == 409
    assert error_of(response) == {
        "code": "refused",
        "message": "Acme Jira already has a backup policy.",
        "not_before": None,
    }


def test_a_bad_request_names_the_field(api, world):
    response = api.post("/api/v1/backups/", token=world.token, json={"product": "x"})
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "invalid"
    assert error["message"] == "product: A valid integer is required."
    filtered = api.get("/api/v1/backups/?status=DONE", token=world.token)
    assert error_of(filtered)["message"] == (
        "status is one of IN_PROGRESS, COMPLETE, INCOMPLETE, FAILED, EXPIRED."
    )


def test_a_chunk_at_the_wrong_offset_409_says_where_to_resume(api, world):
    started = api.post(
        "/api/v1/uploads/", token=world.token, json={"file_name": "b.zip", "size": 10}
    )
    assert started.status_code == 201
    chunk_url = started.json()["chunk_url"]
    response = api.client.generic(
        "PUT",
        chunk_url,
        b"12345",
        content_type="application/octet-stream",
        HTTP_X_UPLOAD_OFFSET="5",
        HTTP_AUTHORIZATION=f"Bearer {world.token}",
    )
    from .conftest import check

    check(api.openapi, response)
    assert response.status_code == 409
    assert error_of(response)["message"] == (
        "Expected the chunk at byte 0, not at byte 5: resume from there."
    )


def test_backups_are_paged_with_next_links_and_filtered(api, world, settings):
    # Two FAILED backups of the sandbox beside acme's COMPLETE one.
    for _ in range(2):
        now = timezone.now()
        Backup.objects.create(
            product=world.sandbox,
            status=Backup.Status.FAILED,
            started_at=now,
            completed_at=now,
            options={},
        )
    first = api.get("/api/v1/backups/?page_size=2", token=world.token).json()
    assert first["count"] == 3 and len(first["results"]) == 2
    assert first["next"].endswith("/api/v1/backups/?page=2&page_size=2")
    second = api.get(first["next"].split("localhost", 1)[1], token=world.token).json()
    ids = [b["id"] for b in first["results"] + second["results"]]
    assert len(set(ids)) == 3
    complete = api.get("/api/v1/backups/?status=COMPLETE", token=world.token).json()
    assert [b["id"] for b in complete["results"]] == [world.backup.pk]
    of_sandbox = api.get(f"/api/v1/backups/?product={world.sandbox.pk}", token=world.token)
    assert of_sandbox.json()["count"] == 2


def test_a_weekly_schedule_set_through_the_api_needs_its_day_and_time(api, world):
    """A1 through K1: the policy form's words for an incomplete weekly schedule; a complete
    one gives the next run; an edit that sends only the time keeps the day."""
    policy_url = f"/api/v1/policies/{world.jira.backup_policy.pk}/"
    refused = api.patch(policy_url, token=world.token, json={"schedule": "weekly"})
    assert refused.status_code == 400
    assert error_of(refused)["message"] == (
        "schedule_weekday: Choose the day of the week backups run. "
        "schedule_time: Choose the time of day backups run."
    )
    weekly = api.patch(
        policy_url,
        token=world.token,
        json={
            "schedule": "weekly",
            "schedule_weekday": 6,
            "schedule_time": "03:00",
            "verify": False,
        },
    )
    assert weekly.status_code == 200
    body = weekly.json()
    assert (body["schedule"], body["schedule_weekday"], body["schedule_time"]) == (
        "weekly",
        6,
        "03:00:00",
    )
    assert body["verify"] is False
    world.jira.backup_policy.refresh_from_db()
    assert world.jira.backup_policy.next_run_at.weekday() == 6  # the organization's zone is UTC
    assert body["next_run_at"].startswith(world.jira.backup_policy.next_run_at.strftime("%Y-%m-%d"))

    moved = api.patch(policy_url, token=world.token, json={"schedule_time": "04:30"})
    assert moved.status_code == 200
    assert (moved.json()["schedule_weekday"], moved.json()["schedule_time"]) == (6, "04:30:00")


def test_an_upload_over_d2_is_refused_413_before_a_byte(api, world, settings):
    """D2 through K1: the upload page's words, 413, and no upload made."""
    settings.LOCAL_DOWNLOAD_LIMIT = 50 * 10**9
    response = api.post(
        "/api/v1/uploads/", token=world.token, json={"file_name": "big.zip", "size": 61 * 10**9}
    )
    assert response.status_code == 413
    assert error_of(response)["message"] == (
        "The file is 61 GB; a backup file can be at most 50 GB (the local download limit)."
    )
    assert not Upload.objects.exists()


def test_an_upload_larger_than_the_free_space_is_refused_507(api, world, settings):
    """The real free space of the upload storage (a size beyond it, under D2): 507, the
    figure in the words, no upload made."""
    free = storage.free_bytes()
    assert free is not None  # the filesystem default
    settings.LOCAL_DOWNLOAD_LIMIT = free * 4
    response = api.post(
        "/api/v1/uploads/", token=world.token, json={"file_name": "big.zip", "size": free * 2}
    )
    assert response.status_code == 507
    message = error_of(response)["message"]
    assert "the upload storage has" in message and "free for it" in message
    assert not Upload.objects.exists()
