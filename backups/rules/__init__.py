"""Pure decisions: may this happen now, and if not, why and until when.

Functions here take loaded objects and an explicit `now`, never touch the database and never
raise for a refusal: they return a Decision whose `reason` is the sentence the user reads.
The views, the admin, the services and the commands all ask these functions, so each rule has
one home and one wording.

One module per subject (backups, downloads, restores, uploads, sites), with the words they
share in `words`; every public name is re-exported here, so `rules.backup_allowed` and
`from backups.rules import backup_allowed` are the way to use them.
"""

from .backups import (
    BACKUP_INTERVAL,
    RETENTION,
    ProductActivity,
    backup_allowed,
    backup_usable,
    next_backup_words,
    size_crossed_while_running,
    size_within_limits,
)
from .decision import ALLOWED, Decision, refuse
from .downloads import (
    DOWNLOAD_BLOCK,
    DOWNLOAD_SLACK_MIN,
    DOWNLOAD_SLACK_PERCENT,
    MAX_DOWNLOADS,
    MiB,
    backup_file_allowed,
    download_allowed,
    download_link_budget,
    download_link_has_copy_left,
    download_link_valid,
)
from .restores import (
    RESTORE_INTERVAL,
    RestoreDestination,
    RestoreSourceFacts,
    content_empty,
    describe_content,
    destination_still_empty,
    restore_again_advice_words,
    restore_allowed,
    restore_by_admin,
    restore_once_a_week,
    restore_options,
    restore_source_allowed,
)
from .retries import MAX_ATTEMPTS, RETRY_DELAY, RetryPlan, attempt_label, retry_plan
from .schedules import (
    local_time_words,
    next_weekly_slot,
    schedule_words,
    slot_held_words,
    time_zone_problem,
)
from .sites import site_url_normal, site_url_problem
from .sweep import (
    BLOBS_PREFIX,
    CLOCK_MARGIN,
    SWEEP_GRACE,
    blob_organization,
    objects_to_sweep,
    sweep_cutoff,
)
from .uploads import (
    ABANDONED_AFTER,
    UPLOAD_CONTEXT_TITLES,
    UPLOAD_WINDOW,
    UploadSizeDecision,
    upload_context_checks,
    upload_deletion_reason,
    upload_restorable_until,
    upload_size_allowed,
)
from .words import (
    ETA_MIN_FRACTION,
    ETA_MIN_SECONDS,
    KIND_LABEL,
    days,
    format_duration,
    format_elapsed,
    format_time_left,
    format_when,
    human_bytes,
    plural,
    progress_times,
)

__all__ = [
    "ABANDONED_AFTER",
    "ALLOWED",
    "BACKUP_INTERVAL",
    "BLOBS_PREFIX",
    "CLOCK_MARGIN",
    "DOWNLOAD_BLOCK",
    "DOWNLOAD_SLACK_MIN",
    "DOWNLOAD_SLACK_PERCENT",
    "Decision",
    "ETA_MIN_FRACTION",
    "ETA_MIN_SECONDS",
    "KIND_LABEL",
    "MAX_ATTEMPTS",
    "MAX_DOWNLOADS",
    "MiB",
    "ProductActivity",
    "RESTORE_INTERVAL",
    "RETENTION",
    "RETRY_DELAY",
    "SWEEP_GRACE",
    "RestoreDestination",
    "RestoreSourceFacts",
    "RetryPlan",
    "UPLOAD_CONTEXT_TITLES",
    "UPLOAD_WINDOW",
    "UploadSizeDecision",
    "attempt_label",
    "backup_allowed",
    "backup_file_allowed",
    "backup_usable",
    "blob_organization",
    "content_empty",
    "days",
    "describe_content",
    "destination_still_empty",
    "download_allowed",
    "download_link_budget",
    "download_link_has_copy_left",
    "download_link_valid",
    "format_duration",
    "format_elapsed",
    "format_time_left",
    "format_when",
    "human_bytes",
    "local_time_words",
    "next_backup_words",
    "next_weekly_slot",
    "objects_to_sweep",
    "plural",
    "progress_times",
    "refuse",
    "restore_again_advice_words",
    "restore_allowed",
    "restore_by_admin",
    "restore_once_a_week",
    "restore_options",
    "restore_source_allowed",
    "retry_plan",
    "schedule_words",
    "site_url_normal",
    "site_url_problem",
    "size_crossed_while_running",
    "size_within_limits",
    "slot_held_words",
    "sweep_cutoff",
    "time_zone_problem",
    "upload_context_checks",
    "upload_deletion_reason",
    "upload_restorable_until",
    "upload_size_allowed",
]
