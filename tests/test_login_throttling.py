"""Login throttling (issue #10, item 7): django-axes locks a username, and an address, out.

Each test logs in through the real login forms (the site's and Django admin's) with the test
client, from addresses set per request, and reads what the person sees.
"""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.core.management import call_command

PASSWORD = "correct horse battery staple"  # noqa: S105
LOGIN = "/accounts/login/"
ADMIN_LOGIN = "/admin/login/"
OFFICE = "203.0.113.10"
HOME = "198.51.100.20"
LOCKED = "Login locked for now"
WRONG = "Please enter a correct username and password"
T0 = datetime(2026, 12, 2, 14, 5, 30, tzinfo=UTC)


@pytest.fixture(autouse=True)
def fast_hashing(settings):
    # The password hasher is not under test; PBKDF2's 10^6 rounds per try would be.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def alice(django_user_model):
    return django_user_model.objects.create_user("alice", password=PASSWORD)


@pytest.fixture
def bob(django_user_model):
    return django_user_model.objects.create_user("bob", password=PASSWORD)


@pytest.fixture
def staff(django_user_model):
    return django_user_model.objects.create_superuser("staff", password=PASSWORD)


def log_in(client, username, password=PASSWORD, *, address=OFFICE, url=LOGIN):
    """POST the login form as a fresh visitor; the response, and whether it logged in."""
    client.logout()
    data = {"username": username, "password": password}
    if url == ADMIN_LOGIN:
        data["next"] = "/admin/"
    response = client.post(url, data, REMOTE_ADDR=address)
    return response, SESSION_KEY in client.session


def fail(client, username, times, *, address=OFFICE, url=LOGIN):
    return [
        log_in(client, username, "wrong password", address=address, url=url)[0].status_code
        for _ in range(times)
    ]


@pytest.mark.django_db
def test_thirty_wrong_passwords_then_the_right_one_is_refused_with_the_lockout_page(client, alice):
    limit = settings.AXES_FAILURE_LIMIT

    with time_machine.travel(T0, tick=False):
        statuses = fail(client, "alice", 30)
        response, logged_in = log_in(client, "alice")

    # The form's own error until the limit, then the lockout page, for every further try.
    assert statuses == [200] * (limit - 1) + [429] * (30 - limit + 1)
    assert not logged_in
    assert response.status_code == 429
    page = " ".join(response.content.decode().split())
    assert LOCKED in page
    assert WRONG not in page
    # 14:05:30 + 15 minutes, rounded up to the minute.
    assert "Logging in is locked until <strong>2 Dec 2026, 14:21 UTC</strong>" in page
    assert "Error 429" in page
    assert "manage.py axes_reset_username" in page
    assert 'href="/accounts/login/"' in page


@pytest.mark.django_db
def test_the_lockout_follows_the_username_to_another_address(client, alice):
    fail(client, "alice", settings.AXES_FAILURE_LIMIT, address=OFFICE)

    response, logged_in = log_in(client, "alice", address=HOME)

    assert response.status_code == 429
    assert LOCKED in response.content.decode()
    assert not logged_in


@pytest.mark.django_db
def test_another_user_from_another_address_still_logs_in(client, alice, bob):
    fail(client, "alice", 30, address=OFFICE)

    response, logged_in = log_in(client, "bob", address=HOME)

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert logged_in


@pytest.mark.django_db
def test_other_users_at_the_same_address_log_in_until_the_address_reaches_the_limit(
    client, alice, bob
):
    limit = settings.AXES_FAILURE_LIMIT
    fail(client, "alice", limit - 1, address=OFFICE)

    response, logged_in = log_in(client, "bob", address=OFFICE)
    assert response.status_code == 302
    assert logged_in

    # One more failure, by anyone, and the address is locked out for every username.
    fail(client, "mallory", 1, address=OFFICE)
    response, logged_in = log_in(client, "bob", address=OFFICE)
    assert response.status_code == 429
    assert not logged_in
    # bob is not locked himself: from elsewhere he logs in.
    assert log_in(client, "bob", address=HOME)[1]


@pytest.mark.django_db
def test_the_right_password_works_again_after_the_cool_off(client, alice):
    cool_off = settings.AXES_COOLOFF_TIME
    with time_machine.travel(T0, tick=False) as traveller:
        fail(client, "alice", 30)

        # A try just before the end is refused, and starts the cool-off again.
        traveller.shift(cool_off - timedelta(seconds=1))
        response, logged_in = log_in(client, "alice")
        assert response.status_code == 429
        assert not logged_in

        traveller.shift(cool_off - timedelta(seconds=1))
        assert log_in(client, "alice")[0].status_code == 429

        traveller.shift(cool_off + timedelta(seconds=1))
        response, logged_in = log_in(client, "alice")

    assert response.status_code == 302
    assert logged_in


@pytest.mark.django_db
def test_the_admin_login_is_throttled_too_and_shows_the_same_page(client, staff):
    statuses = fail(client, "staff", 30, url=ADMIN_LOGIN)
    response, logged_in = log_in(client, "staff", url=ADMIN_LOGIN)

    limit = settings.AXES_FAILURE_LIMIT
    assert statuses == [200] * (limit - 1) + [429] * (30 - limit + 1)
    assert response.status_code == 429
    assert not logged_in
    page = " ".join(response.content.decode().split())
    assert LOCKED in page
    assert 'href="/admin/login/"' in page


@pytest.mark.django_db
def test_failures_on_one_form_count_on_the_other(client, staff):
    fail(client, "staff", settings.AXES_FAILURE_LIMIT, url=LOGIN)

    response, logged_in = log_in(client, "staff", url=ADMIN_LOGIN)

    assert response.status_code == 429
    assert not logged_in


@pytest.mark.django_db
def test_staff_unlock_a_username_in_django_admin(client, alice, staff):
    fail(client, "alice", 30, address=OFFICE)
    assert log_in(client, "alice")[0].status_code == 429

    # Staff, already signed in, find alice's attempts and delete them.
    client.force_login(staff)
    changelist = client.get("/admin/axes/accessattempt/", {"q": "alice"})
    assert changelist.status_code == 200
    attempts = list(changelist.context["cl"].result_list)
    assert [a.username for a in attempts] == ["alice"]
    # 30 wrong passwords and the refused right one: a try while locked out counts too.
    assert attempts[0].failures_since_start == 31
    confirm = client.post(
        "/admin/axes/accessattempt/",
        {"action": "delete_selected", "_selected_action": [a.pk for a in attempts]},
    )
    assert confirm.status_code == 200
    assert "<title>Delete multiple objects" in confirm.content.decode()
    done = client.post(
        "/admin/axes/accessattempt/",
        {
            "action": "delete_selected",
            "_selected_action": [a.pk for a in attempts],
            "post": "yes",
        },
        follow=True,
    )
    assert "Successfully deleted 1 access attempt" in done.content.decode()

    response, logged_in = log_in(client, "alice")
    assert response.status_code == 302
    assert logged_in


@pytest.mark.django_db
def test_staff_unlock_a_username_with_axes_reset_username(client, alice, bob):
    fail(client, "alice", 30, address=HOME)
    fail(client, "bob", 30, address=OFFICE)

    call_command("axes_reset_username", "alice")

    response, logged_in = log_in(client, "alice", address=HOME)
    assert response.status_code == 302
    assert logged_in
    # Only alice's lock is lifted.
    assert log_in(client, "bob", address=HOME)[0].status_code == 429


@pytest.mark.django_db
def test_behind_a_proxy_the_forwarded_address_is_counted(client, settings, alice, bob):
    settings.PROXY_COUNT = 1
    proxy = "10.0.0.2"

    def through_proxy(username, password, client_address):
        client.logout()
        client.post(
            LOGIN,
            {"username": username, "password": password},
            REMOTE_ADDR=proxy,
            HTTP_X_FORWARDED_FOR=f"{client_address}",
        )
        return SESSION_KEY in client.session

    for _ in range(settings.AXES_FAILURE_LIMIT):
        through_proxy("mallory", "wrong", OFFICE)

    # Everyone comes from the proxy's address, but only the attacker's own address is locked.
    assert through_proxy("bob", PASSWORD, HOME)
    assert not through_proxy("alice", PASSWORD, OFFICE)
    # A forged entry left of the proxy's own does not escape the lock.
    assert not through_proxy("alice", PASSWORD, f"{HOME}, {OFFICE}")
