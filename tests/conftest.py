from types import SimpleNamespace

import pytest
from django.contrib.auth import get_user_model

from backups.demo import DEMO_PASSWORD, seed_demo
from backups.models import Membership, Organization, Product
from tests.components import need_s3
from tests.s3.rclone import RcloneS3, use_s3


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """PBKDF2's many rounds cost about two seconds per test that makes the demo's users; what
    the tests check of logins does not depend on the hash (production keeps Django's)."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def isolated_storage(settings, tmp_path):
    """Each test gets its own attachment and backup folders."""
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "media")},
        },
        "backups": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(tmp_path / "backups")},
        },
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": str(tmp_path),
        }
    }
    return tmp_path


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """One `rclone serve s3` for the session (tests/s3/rclone.py); stopped at the end."""
    server = RcloneS3(need_s3(), tmp_path_factory.mktemp("s3"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def s3_storage(s3_server, isolated_storage, settings):
    """STORAGES["default"] and ["backups"] on their own two buckets of the S3 server.

    Request it (or storage_backend) before `demo`, so that the demo's files go to S3.
    """
    yield from use_s3(s3_server, settings)


@pytest.fixture(params=["filesystem", "s3"])
def storage_backend(request, isolated_storage):
    """Run the test on folders, then on S3 buckets: the value is "filesystem" or "s3".

    Request it before `demo`, so that the demo's files go to the storage under test.
    """
    if request.param == "s3":
        request.getfixturevalue("s3_storage")
    return request.param


@pytest.fixture
def demo(db):
    """The demo data (seed_demo), by name: demo.alice, demo.acme, demo.jira, …"""
    seed_demo()
    User = get_user_model()
    products = {p.name: p for p in Product.objects.all()}
    return SimpleNamespace(
        password=DEMO_PASSWORD,
        alice=User.objects.get(username="alice"),
        bob=User.objects.get(username="bob"),
        carol=User.objects.get(username="carol"),
        staff=User.objects.get(username="staff"),
        acme=Organization.objects.get(slug="acme"),
        globex=Organization.objects.get(slug="globex"),
        jira=products["Acme Jira"],
        confluence=products["Acme Confluence"],
        jira_sandbox=products["Acme Jira sandbox"],
        confluence_sandbox=products["Acme Confluence sandbox"],
        globex_jira=products["Globex Jira"],
    )


@pytest.fixture
def make_org(db):
    """An organization with an org admin: make_org('initech', enrolled=True) -> (org, admin)."""

    def make(slug: str, *, enrolled: bool = True, role: str = Membership.Role.ADMIN):
        org = Organization.objects.create(name=slug.title(), slug=slug, enrolled=enrolled)
        user = get_user_model().objects.create_user(f"{slug}-admin", password=DEMO_PASSWORD)
        Membership.objects.create(user=user, organization=org, role=role)
        return org, user

    return make


@pytest.fixture
def sync_tasks(monkeypatch):
    """django-q2 runs a task inline instead of queueing it (the worker is tested elsewhere)."""
    from django_q.conf import Conf

    monkeypatch.setattr(Conf, "SYNC", True)


@pytest.fixture
def backups_root(isolated_storage):
    return isolated_storage / "backups"
