"""Settings as a deployment meets them: each case starts manage.py in a fresh process."""

import contextlib
import os
import re
import secrets
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from tests.helpers import ROOT, clean_env, manage

HOST = "backups.example.com"


def production_env(tmp_path: Path, **env: str) -> dict[str, str]:
    """The variables README's "Production" section says a deployment sets."""
    return {
        "DJANGO_DEBUG": "0",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": HOST,
        "DJANGO_CSRF_TRUSTED_ORIGINS": f"https://{HOST}",
        "BACKUPSITE_VAR_DIR": str(tmp_path / "var"),
        "DJANGO_STATIC_ROOT": str(tmp_path / "static"),
        **env,
    }


def test_without_debug_a_missing_secret_key_stops_the_start():
    result = manage("check")

    assert result.returncode != 0
    assert "ImproperlyConfigured: DJANGO_SECRET_KEY" in result.stderr


def test_production_settings_pass_the_deployment_checks(tmp_path):
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="backups.example.com",
        DJANGO_CSRF_TRUSTED_ORIGINS="https://backups.example.com",
        BACKUPSITE_VAR_DIR=str(tmp_path),
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def test_the_full_production_configuration_passes_the_deployment_checks(tmp_path):
    # PostgreSQL, Redis and S3, as README's "Production" section sets them. The check reaches
    # none of these servers, so names that do not resolve are fine.
    result = manage(
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
        **production_env(
            tmp_path,
            DATABASE_URL="postgres://backupsite:db-secret@db.example.com:5432/backupsite",
            DATABASE_CONN_MAX_AGE="60",
            REDIS_URL="redis://redis.example.com:6379/0",
            Q_WORKERS="4",
            BACKUPSITE_STORAGE="s3",
            S3_ENDPOINT_URL="https://s3.example.com",
            S3_REGION="eu-west-1",
            S3_ACCESS_KEY_ID="AKIAEXAMPLEEXAMPLE",
            S3_SECRET_ACCESS_KEY="example-secret-key",
            S3_ATTACHMENTS_BUCKET="acme-attachments",
            S3_BACKUPS_BUCKET="acme-backups",
            DJANGO_EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
            DJANGO_EMAIL_HOST="smtp.example.com",
            DJANGO_DEFAULT_FROM_EMAIL="backups@example.com",
        ),
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout
    assert "WARNING" not in result.stdout + result.stderr


def get(url: str, **headers: str):
    """(status, headers, body) of a GET that does not follow redirects."""

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    opener = urllib.request.build_opener(NoRedirect)
    request = urllib.request.Request(url, headers={"Host": HOST, **headers})
    try:
        with opener.open(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


def test_gunicorn_serves_the_site_and_whitenoise_its_collected_static_files(tmp_path):
    # README's "Production" steps, on SQLite and folders: collectstatic, migrate, gunicorn.
    env = production_env(tmp_path)
    for step in (("collectstatic", "--noinput"), ("migrate", "--noinput")):
        result = manage(*step, **env)
        assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "static" / "staticfiles.json").exists()

    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [
                str(Path(sys.executable).parent / "gunicorn"),
                "backupsite.wsgi",
                "--bind",
                "127.0.0.1:0",
                "--workers",
                "2",
                "--no-control-socket",
            ],
            cwd=ROOT,
            env=clean_env(**env),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        deadline = time.monotonic() + 30
        while not (
            found := re.search(r"Listening at: (http://127\.0\.0\.1:\d+)", log_path.read_text())
        ):
            assert server.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, (
                "gunicorn did not start in 30 s:\n" + log_path.read_text()
            )
            time.sleep(0.05)
        base = found.group(1)

        # Plain HTTP is sent to HTTPS; through the TLS proxy the login page is served.
        status, headers, _ = get(f"{base}/accounts/login/")
        assert status == 301
        assert headers["Location"] == f"https://{HOST}/accounts/login/"
        status, headers, body = get(f"{base}/accounts/login/", **{"X-Forwarded-Proto": "https"})
        assert status == 200, body[:500]
        assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
        css = re.search(rb'href="(/static/css/site\.[0-9a-f]{12}\.css)"', body)
        assert css, "the page links the hashed stylesheet of collectstatic's manifest"

        # whitenoise serves it from STATIC_ROOT, cacheable for ever, compressed on request.
        status, headers, body = get(
            base + css.group(1).decode(),
            **{"X-Forwarded-Proto": "https", "Accept-Encoding": "gzip"},
        )
        assert status == 200
        assert "immutable" in headers["Cache-Control"]
        assert headers["Content-Encoding"] == "gzip"
        assert body
    finally:
        server.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            server.wait(timeout=15)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=15)


def test_every_environment_variable_of_the_settings_is_in_the_readme():
    source = (ROOT / "backupsite" / "settings.py").read_text()
    read = set(
        re.findall(
            r"""(?:environ\.get|environ\[|getenv|env_bool|env_int)\(?\s*["']([A-Z0-9_]+)["']""",
            source,
        )
    )
    read.add("DATABASE_URL")  # read by dj_database_url.config()
    readme = (ROOT / "README.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z0-9_]+)` \|", readme, flags=re.MULTILINE))

    assert len(read) > 20
    assert sorted(read - documented) == []
