"""rules/sweep: which objects of the attachment store a sweep deletes (#16 item 2)."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from backups import rules
from backups.rules import CLOCK_MARGIN, blob_organization, objects_to_sweep, sweep_cutoff

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
DAY = timedelta(hours=24)


@dataclass(frozen=True)
class Obj:
    name: str
    modified: datetime
    size: int = 10


def names(objects) -> list[str]:
    return [o.name for o in objects]


def sweep(objects, *, named=frozenset(), running_since=None, grace=DAY):
    return names(
        objects_to_sweep(
            objects, named=named, running_since=running_since or {}, now=NOW, grace=grace
        )
    )


def test_an_unnamed_object_older_than_the_grace_goes_a_younger_one_stays():
    old = Obj("blobs/7/ab/ab12-0123456789ab", NOW - DAY - timedelta(seconds=1))
    young = Obj("blobs/7/cd/cd34-0123456789ab", NOW - DAY + timedelta(seconds=1))
    site = Obj("blobs/7/site/0123456789ab/attachments/3/a.txt", NOW - timedelta(days=3))
    assert sweep([old, young, site]) == [old.name, site.name]


def test_a_named_object_never_goes_however_old():
    ancient = Obj("blobs/7/ab/ab12-0123456789ab", NOW - timedelta(days=400))
    assert sweep([ancient], named={ancient.name}) == []


def test_nothing_outside_the_attachment_store_goes():
    outside = [
        Obj("backups/7/1/2/manifest.json", NOW - timedelta(days=400)),
        Obj("uploads/7/x.zip", NOW - timedelta(days=400)),
        Obj("blobsx/7/ab/ab12", NOW - timedelta(days=400)),
        Obj("b/blobs/7/ab/ab12", NOW - timedelta(days=400)),
    ]
    assert sweep(outside) == []


def test_an_object_newer_than_its_organizations_oldest_running_backup_stays():
    started = NOW - timedelta(days=3)  # a backup running for three days, past the grace
    during = Obj("blobs/7/site/0123456789ab/attachments/3/big.iso", started + timedelta(hours=1))
    before = Obj("blobs/7/ab/ab12-0123456789ab", started - CLOCK_MARGIN - timedelta(seconds=1))
    within_margin = Obj("blobs/7/cd/cd34-0123456789ab", started - timedelta(minutes=1))
    other_org = Obj("blobs/8/ef/ef56-0123456789ab", started + timedelta(hours=1))
    got = sweep([during, before, within_margin, other_org], running_since={7: started})
    # Organization 7's backup protects what it may still record; organization 8 runs nothing.
    assert got == [before.name, other_org.name]


def test_an_object_of_no_known_organization_waits_for_every_running_backup():
    odd = Obj("blobs/tmp/x", NOW - timedelta(days=2))
    assert sweep([odd], running_since={3: NOW - timedelta(days=3)}) == []
    assert sweep([odd], running_since={3: NOW - timedelta(hours=1)}) == [odd.name]
    assert sweep([odd]) == [odd.name]


def test_the_cutoff_is_the_earlier_of_the_grace_and_the_oldest_running_start():
    assert sweep_cutoff(7, running_since={}, now=NOW, grace=DAY) == NOW - DAY
    long_ago = NOW - timedelta(days=5)
    assert sweep_cutoff(7, running_since={7: long_ago}, now=NOW, grace=DAY) == (
        long_ago - CLOCK_MARGIN
    )
    # A backup that started an hour ago does not move the cutoff later than the grace's.
    recent = NOW - timedelta(hours=1)
    assert sweep_cutoff(7, running_since={7: recent}, now=NOW, grace=DAY) == NOW - DAY
    assert sweep_cutoff(7, running_since={8: long_ago}, now=NOW, grace=DAY) == NOW - DAY


def test_a_zero_grace_sweeps_what_is_older_than_now_and_a_negative_one_is_refused():
    obj = Obj("blobs/7/ab/ab12-0123456789ab", NOW - timedelta(seconds=1))
    future = Obj("blobs/7/cd/cd34-0123456789ab", NOW + timedelta(minutes=5))  # clock skew
    assert sweep([obj, future], grace=timedelta(0)) == [obj.name]
    with pytest.raises(ValueError):
        sweep([obj], grace=-DAY)


def test_blob_organization_reads_the_folder_of_the_store():
    assert blob_organization("blobs/12/ab/ab12-x") == 12
    assert blob_organization("blobs/12/site/tok/attachments/1/a") == 12
    assert blob_organization("blobs/x1/ab") is None
    assert blob_organization("backups/12/1/1/manifest.json") is None


def test_the_package_re_exports_the_rule():
    assert rules.objects_to_sweep is objects_to_sweep
    assert rules.SWEEP_GRACE == DAY
