"""A connected Jira Cloud site's backup and restore against the contract server (issue #11).

    .venv/bin/python benchmarks/connected_jira.py --issues 2000 --latency-ms 50

The contract server (backups/devsite/jira_site.py) plays the site on 127.0.0.1 and waits
LATENCY_MS before answering every API call, as a site across the internet would. The site has
ISSUES issues in PROJECTS projects, a comment each, and FILES attachments of FILE_KB. In child
processes (so that peak RSS is the worker's alone):
  1. a backup of the connected site (issues/s, MB/s of attachments, API calls, peak RSS);
  2. the site emptied, and that backup restored into it (issues/s, API calls, peak RSS);
  3. the same content as an embedded product, backed up (issues/s), for comparison.
Figures, not pass/fail. Issue #11 aims at backup >= 5,000 issues/s and restore >= 500
issues/s at 50 ms; the first version reads and writes one call at a time, so the figures say
how far off that is.
"""

import argparse
import contextlib
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import django_var_dir, peak_rss_mb, run_json_child, setup_django  # noqa: E402

EMAIL, TOKEN = "bench@example.com", "bench-token"


def add_child_arguments(parser) -> None:
    """The hidden options of a child (a backup or a restore of a connected site's product)."""
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--id", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--destination", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--var-dir", help=argparse.SUPPRESS)


@contextlib.contextmanager
def running_site(prefix: str, kind: str):
    """A fresh var folder with Django migrated on it, and the contract server of `kind` (jira,
    confluence) started on 127.0.0.1 (stopped at the end). Yields (var_dir, site)."""
    with django_var_dir(prefix) as var_dir:
        from backups.devsite.confluence_site import ConfluenceSite
        from backups.devsite.jira_site import JiraSite

        site = {"jira": JiraSite, "confluence": ConfluenceSite}[kind]().start()
        try:
            yield var_dir, site
        finally:
            site.stop()


def child(args) -> None:
    setup_django(Path(args.var_dir))
    from backups.models import Backup, Product, Restore
    from backups.services.backup_engine import backup_execute
    from backups.services.restore_engine import restore_execute
    from backups.services.restores import restore_request

    start = time.perf_counter()
    if args.child == "backup":
        backup_execute(backup_id=args.id)
        row = Backup.objects.get(pk=args.id)
        out = {"status": row.status, "bytes": row.total_bytes, "reason": row.failure_reason}
    else:
        backup = Backup.objects.get(pk=args.id)
        restore = restore_request(
            backup=backup,
            destination=Product.objects.get(pk=args.destination),
            actor=backup.created_by,
        )
        restore_execute(restore_id=restore.pk)
        row = Restore.objects.get(pk=restore.pk)
        out = {"status": row.status, "reason": row.failure_reason}
    out.update(seconds=time.perf_counter() - start, peak_rss_mb=peak_rss_mb())
    print(json.dumps(out))


def run_child(var_dir: Path, kind: str, pk: int, destination: int = 0) -> dict:
    """A backup or a restore (`kind`) in a child process of this script; its JSON line."""
    return run_json_child(
        [sys.executable, __file__, "--child", kind, "--id", str(pk), "--var-dir", str(var_dir)]
        + ["--destination", str(destination)]
    )


def connect(kind: str, name: str, url: str):
    """An enrolled organization, its org admin, and a connection to the site (checked)."""
    from django.contrib.auth import get_user_model

    from backups.models import Membership, Organization
    from backups.services.connections import SiteDetails, connection_create

    user = get_user_model().objects.create_user("bench-admin")
    org = Organization.objects.create(name="Bench", slug="bench", enrolled=True)
    Membership.objects.create(user=user, organization=org, role="admin")
    connection = connection_create(
        organization=org, actor=user, details=SiteDetails(kind, name, url, EMAIL, TOKEN)
    )
    assert connection.check_ok, connection.check_message
    return user, connection


def round_trip(var_dir: Path, site, connection, user, *, items: int, unit: str, mb: float):
    """Back the site up, empty it, restore the backup into it; print both lines. Returns the
    backup."""
    from backups.services.backups import backup_request

    backup = backup_request(product=connection.product, actor=user)
    for label, run in (
        ("backup ", lambda: run_child(var_dir, "backup", backup.pk)),
        ("restore", lambda: run_child(var_dir, "restore", backup.pk, connection.product.pk)),
    ):
        if label == "restore":
            site.wipe()
        calls = len(site.requests)
        r = run()
        print(
            f"  {label}: {r['status']:9s} {r['seconds']:7.1f} s  "
            f"{items / r['seconds']:7.0f} {unit}/s  {mb / r['seconds']:6.1f} MB/s  "
            f"{len(site.requests) - calls} API calls  peak RSS {r['peak_rss_mb']:.0f} MB "
            f"{r['reason']}"
        )
    return backup


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--issues", type=int, default=2000)
    parser.add_argument("--projects", type=int, default=4)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--file-kb", type=int, default=256)
    parser.add_argument("--latency-ms", type=float, default=50)
    add_child_arguments(parser)
    args = parser.parse_args()
    if args.child:
        child(args)
        return

    with running_site("bench-connected-", "jira") as (var_dir, site):
        from backups.models import BackupPolicy, Product
        from backups.productdata import ImportOptions, for_product
        from backups.services.backups import backup_request
        from backups.services.restores import StoredBackupSource

        admin = site.add_account(EMAIL, TOKEN, name="Bench Admin")
        per_project = args.issues // args.projects
        for p in range(args.projects):
            key = f"P{p}"
            site.add_project(key, f"Project {p}", lead=admin)
            for n in range(1, per_project + 1):
                site.add_issue(
                    key,
                    {
                        "summary": f"Issue {n} of {key}",
                        "description": {
                            "type": "doc",
                            "version": 1,
                            "content": [
                                {
                                    "type": "paragraph",
                                    "content": [{"type": "text", "text": "Steps " * 20}],
                                }
                            ],
                        },
                        "labels": ["bench"],
                    },
                )
                site.add_comment(
                    f"{key}-{n}",
                    {"type": "doc", "version": 1, "content": []},
                    admin,
                )
        for k in range(args.files):
            site.add_attachment(
                f"P{k % args.projects}-{k % per_project + 1}",
                f"f{k}.bin",
                os.urandom(args.file_kb * 1024),
                admin,
            )
        site.latency = args.latency_ms / 1000

        user, connection = connect("jira", "Bench Jira Cloud", site.url)
        mb = args.files * args.file_kb / 1024
        print(
            f"Connected Jira: {args.issues} issues in {args.projects} projects, a comment each, "
            f"{args.files} attachments ({mb:.0f} MB); {args.latency_ms:g} ms per API call"
        )
        backup = round_trip(
            var_dir, site, connection, user, items=args.issues, unit="issues", mb=mb
        )

        # The same content, embedded: the backup imported into an embedded product, which is
        # then backed up (its own figure, beside the connected one).
        org = connection.product.organization
        embedded = Product.objects.create(organization=org, kind="jira", name="Bench embedded")
        BackupPolicy.objects.create(product=embedded)
        for_product(embedded).import_content(StoredBackupSource(backup), ImportOptions())
        e_backup = backup_request(product=embedded, actor=user)
        e = run_child(var_dir, "backup", e_backup.pk)
        print(
            f"  embedded backup of the same content: {e['status']} {e['seconds']:.1f} s  "
            f"{args.issues / e['seconds']:.0f} issues/s  peak RSS {e['peak_rss_mb']:.0f} MB"
        )


if __name__ == "__main__":
    main()
