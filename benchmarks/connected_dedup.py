"""A connected Jira Cloud site's first and second (unchanged) backup (#16 item 2).

    .venv/bin/python benchmarks/connected_dedup.py --mb 200 --files 100 --latency-ms 50

The contract server (backups/devsite/jira_site.py) plays the site on 127.0.0.1 and waits
LATENCY_MS before answering every API call. The site has ISSUES issues and FILES attachments
of MB/FILES MB each (random bytes). Each backup runs in a child process (peak RSS is the
worker's alone); between the two the first backup's completion is moved 8 days back, so that
B3 lets the second run at once. Per backup: API calls, attachment downloads and the bytes
they brought, the bytes newly stored in the backup storage (the organization's copies, and the
backup's own entities and manifest: services.blobs.storage_used before and after), and time.
Figures, not pass/fail. Issue #16's target: the second backup of an unchanged site stores
< 1% of its bytes; here it also downloads none of them. The last line is `BENCH_RESULT
{"figure": "second_backup_new_bytes", "kind": "connected", ...}` for benchmarks/table.py.
"""

import argparse
import os
import sys
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import bench_result  # noqa: E402
from connected_jira import (  # noqa: E402 - the same site, connection and child
    EMAIL,
    TOKEN,
    connect,
    run_child,
    running_site,
)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument("--mb", type=int, default=200)
    parser.add_argument("--files", type=int, default=100)
    parser.add_argument("--issues", type=int, default=200)
    parser.add_argument("--latency-ms", type=float, default=50)
    args = parser.parse_args()

    with running_site("bench-connected-dedup-", "jira") as (var_dir, site):
        from backups.models import Backup, BackupPolicy
        from backups.services.backups import backup_request
        from backups.services.blobs import storage_used

        admin = site.add_account(EMAIL, TOKEN, name="Bench Admin")
        site.add_project("P", "Project", lead=admin)
        for n in range(1, args.issues + 1):
            site.add_issue("P", {"summary": f"Issue {n}", "labels": ["bench"]})
        size = args.mb * 1024 * 1024 // args.files
        for k in range(args.files):
            site.add_attachment(f"P-{k % args.issues + 1}", f"f{k}.bin", os.urandom(size), admin)
        site.latency = args.latency_ms / 1000

        user, connection = connect("jira", "Bench Jira Cloud", site.url)
        BackupPolicy.objects.update_or_create(product=connection.product)
        org_id = connection.product.organization_id
        total = args.files * size
        print(
            f"Connected Jira: {args.issues} issues, {args.files} attachments of "
            f"{size / 2**20:.1f} MB ({total / 2**20:.0f} MB); {args.latency_ms:g} ms per API call"
        )
        print(
            f"  {'backup':7s} {'status':9s} {'time':>8s} {'API calls':>9s} {'downloads':>9s} "
            f"{'MB downloaded':>13s} {'MB stored':>10s} {'stored/site':>11s}"
        )
        for label in ("first", "second"):
            if label == "second":  # B3: as if a week had passed
                first = Backup.objects.get(product=connection.product)
                Backup.objects.filter(pk=first.pk).update(
                    started_at=first.started_at - timedelta(days=8),
                    completed_at=first.completed_at - timedelta(days=8),
                )
            backup = backup_request(product=connection.product, actor=user)
            calls = len(site.requests)
            used = storage_used(organization_id=org_id)
            r = run_child(var_dir, "backup", backup.pk)
            requests = site.requests[calls:]
            fetched = [
                p.rsplit("/", 1)[1]
                for _, p, _ in requests
                if p.startswith("/rest/api/3/attachment/content/")
            ]
            downloaded = sum(len(site.state.files[i]) for i in fetched)
            stored = storage_used(organization_id=org_id) - used
            print(
                f"  {label:7s} {r['status']:9s} {r['seconds']:6.2f} s {len(requests):9d} "
                f"{len(fetched):9d} {downloaded / 2**20:13.1f} {stored / 2**20:10.2f} "
                f"{stored / total:10.2%} {r['reason']}"
            )
        bench_result(
            "second_backup_new_bytes",
            kind="connected",
            total_bytes=total,
            new_bytes=stored,
            percent=round(100 * stored / total, 4),
            downloads=len(fetched),
            downloaded_bytes=downloaded,
            api_calls=len(requests),
            status=r["status"],
        )


if __name__ == "__main__":
    main()
