"""May this be restored, into that, by whom, with which options (R1-R7)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from .backups import RETENTION, ProductActivity
from .decision import ALLOWED, Decision, refuse
from .uploads import UPLOAD_WINDOW, upload_restorable_until
from .words import KIND_LABEL, days, format_when, plural

RESTORE_INTERVAL = timedelta(days=7)  # R5


def describe_content(
    *, product_name: str, kind: str, containers_by_state: dict[str, int], items: int
) -> str:
    """'ACME Jira sandbox has 2 projects (1 archived) and 14 issues' (R6's refusal)."""
    container, item = ("project", "issue") if kind == "jira" else ("space", "page")
    total = sum(containers_by_state.values())
    states = [
        f"{containers_by_state[s]} {label}"
        for s, label in (("archived", "archived"), ("trashed", "in trash"))
        if containers_by_state.get(s)
    ]
    detail = f" ({', '.join(states)})" if states else ""
    return f"{product_name} has {plural(total, container)}{detail} and {plural(items, item)}"


def content_empty(*, containers: int, items: int) -> bool:
    """R6: is a product empty? A project or space, or an issue or page, in any state (active,
    archived, in the trash) is content. Every "empty" (the rules, a product's summary, the
    check just before a restore writes) asks this."""
    return containers == 0 and items == 0


def destination_still_empty(*, product_name: str, containers: int, items: int) -> Decision:
    """R6 again at the moment a Jira restore writes (C7): nothing may have appeared since."""
    if content_empty(containers=containers, items=items):
        return ALLOWED
    return refuse(
        f"{product_name} is no longer empty: it now has {containers} project(s) and "
        f"{items} issue(s). A Jira restore needs an empty destination."
    )


@dataclass(frozen=True)
class RestoreSourceFacts:
    """What a restore source is, as the rules judge it: a stored backup's row, or a validated
    uploaded file's manifest."""

    backup_id: int
    status: str  # COMPLETE, INCOMPLETE, … (for a file: the manifest's)
    kind: str
    organization_id: int
    taken_at: datetime
    from_file: bool = False


@dataclass(frozen=True)
class RestoreDestination:
    product_name: str
    kind: str
    organization_id: int
    activity: ProductActivity
    containers_by_state: dict
    items: int
    # A connected site that could not be asked now: why (then R6 cannot be judged).
    unreachable: str = ""


def restore_source_allowed(*, source: RestoreSourceFacts, now: datetime) -> Decision:
    """Can this backup be restored at all now? (R2, R3, R4)"""
    if source.status == "IN_PROGRESS":
        return refuse("The backup is still running; it can be restored once it is complete.")
    if source.status == "FAILED":
        return refuse("A failed backup cannot be restored.")
    if source.from_file:
        deadline = source.taken_at + UPLOAD_WINDOW
        if now > deadline:
            return refuse(
                f"The backup was taken more than {days(UPLOAD_WINDOW)} ago (it could be "
                f"restored from a file until {format_when(deadline)})."
            )
        return ALLOWED
    if source.status == "EXPIRED" or now >= source.taken_at + RETENTION:
        return refuse(
            f"The backup expired on {format_when(source.taken_at + RETENTION)}; restore it "
            f"from its downloaded backup file instead (possible for {days(UPLOAD_WINDOW)} after it "
            "was taken)."
        )
    return ALLOWED


def restore_once_a_week(*, last_restore_started_at: datetime | None, now: datetime) -> Decision:
    """R5: a backup is restored at most once in RESTORE_INTERVAL (failed restores do not count)."""
    if last_restore_started_at is None:
        return ALLOWED
    next_at = last_restore_started_at + RESTORE_INTERVAL
    if now < next_at:
        return refuse(
            f"This backup was restored on {format_when(last_restore_started_at)}; a backup can "
            f"be restored once in {days(RESTORE_INTERVAL)}. It can be restored again after "
            f"{format_when(next_at)}.",
            not_before=next_at,
        )
    return ALLOWED


def restore_allowed(
    *,
    source: RestoreSourceFacts,
    destination: RestoreDestination,
    last_restore_started_at: datetime | None,
    now: datetime,
) -> Decision:
    """May this backup be restored into this destination now? (R1-R6)"""
    decision = restore_source_allowed(source=source, now=now)
    if not decision:
        return decision
    decision = restore_once_a_week(last_restore_started_at=last_restore_started_at, now=now)
    if not decision:
        return decision
    if destination.organization_id != source.organization_id:
        return refuse("A backup can only be restored into a product of its own organization.")
    if destination.kind != source.kind:
        return refuse(
            f"{destination.product_name} is a {KIND_LABEL[destination.kind]} site; this is a "
            f"{KIND_LABEL[source.kind]} backup."
        )
    if destination.activity.restore_in_progress:
        return refuse(f"A restore into {destination.product_name} is already in progress.")
    if destination.activity.backup_in_progress:
        return refuse(
            f"A backup of {destination.product_name} is in progress; restore into it once the "
            "backup has ended."
        )
    if destination.unreachable:
        return refuse(
            f"{destination.product_name} cannot be checked now, so nothing can be restored "
            f"into it: {destination.unreachable}"
        )
    if destination.kind == "jira" and not content_empty(
        containers=sum(destination.containers_by_state.values()), items=destination.items
    ):
        found = describe_content(
            product_name=destination.product_name,
            kind="jira",
            containers_by_state=destination.containers_by_state,
            items=destination.items,
        )
        return refuse(
            f"{found}. A Jira backup can only be restored into an empty Jira site: no projects "
            "or issues, archived and trashed ones included."
        )
    return ALLOWED


def restore_by_admin(*, admin_of_backup_org: bool, admin_of_destination_org: bool) -> Decision:
    """R1: only an org admin of the backup's organization and of the destination's restores."""
    if admin_of_backup_org and admin_of_destination_org:
        return ALLOWED
    return refuse("Only org admins of the backup's organization can restore it.")


def restore_options(
    *, backup_options: dict, include_attachments: bool, include_users_and_groups: bool
) -> dict:
    """R7: attachments only when the backup has them; users and groups only when it has them."""
    return {
        "include_attachments": include_attachments
        and backup_options.get("include_attachments", False),
        "include_users_and_groups": include_users_and_groups
        and backup_options.get("include_users_and_groups", False),
    }


def restore_again_advice_words(
    *, taken_at: datetime, last_restore_started_at: datetime | None, now: datetime
) -> str:
    """What a deleted upload's page says about restoring its backup again (R4, R5): the file
    must be uploaded again, and that helps only once R5's wait has passed, within R4's window.
    A pure function of its arguments, like the rules it combines."""
    until = upload_restorable_until(taken_at)
    window = f"{format_when(until)}, {days(UPLOAD_WINDOW)} after the backup was taken"
    if now >= until:
        return (
            f"This backup can no longer be restored from its file: that was possible until "
            f"{window}."
        )
    weekly = restore_once_a_week(last_restore_started_at=last_restore_started_at, now=now)
    if weekly:
        return f"To restore this backup again, upload its file again (possible until {window})."
    if weekly.not_before >= until:
        return (
            f"{weekly.reason} That is after its file can be restored (until {window}), so this "
            "backup cannot be restored from its file again."
        )
    return (
        f"{weekly.reason} Then, to restore it again, upload its file again (possible until "
        f"{window})."
    )
