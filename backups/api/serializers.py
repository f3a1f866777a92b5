"""What the API sends and takes (K1), and so what its OpenAPI document says (K4).

Outputs are built from dicts the views make from the same selectors and services as the pages
(`representations.py`); these classes give them their documented shape. Inputs are validated
here for their form only (types, required fields); every rule is the services'.
"""

from rest_framework import serializers

from backups.models import Backup, BackupFile, BackupPolicy, Product, Restore, Upload
from backups.rules.schedules import schedule_problems

# --- errors ----------------------------------------------------------------------------------


class ErrorDetail(serializers.Serializer):
    code = serializers.CharField(help_text="refused, not_found, unauthenticated, invalid, …")
    message = serializers.CharField(help_text="The reason, in the words the page shows.")
    not_before = serializers.DateTimeField(
        allow_null=True, help_text="For a wait (B3, R5): when the action may be asked again."
    )
    fields = serializers.DictField(required=False, help_text="Per field, what is wrong (400).")


class Error(serializers.Serializer):
    error = ErrorDetail()


class DecisionSerializer(serializers.Serializer):
    allowed = serializers.BooleanField()
    reason = serializers.CharField(allow_blank=True)
    not_before = serializers.DateTimeField(allow_null=True)


def page_of(serializer_class) -> type[serializers.Serializer]:
    """The paginated list of `serializer_class` (K3): `?page=N` pages, `next` links."""
    name = serializer_class.__name__.removesuffix("Serializer")
    return type(
        f"Paginated{name}List",
        (serializers.Serializer,),
        {
            "count": serializers.IntegerField(),
            "next": serializers.URLField(allow_null=True),
            "previous": serializers.URLField(allow_null=True),
            "results": serializer_class(many=True),
        },
    )


# --- organization, products, connections ----------------------------------------------------


class OrganizationSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    slug = serializers.CharField()
    name = serializers.CharField()
    enrolled = serializers.BooleanField()
    time_zone = serializers.CharField()


class ContentSummarySerializer(serializers.Serializer):
    containers = serializers.IntegerField(help_text="Projects (Jira) or spaces (Confluence).")
    containers_by_state = serializers.DictField(child=serializers.IntegerField())
    items = serializers.IntegerField(help_text="Issues (Jira) or pages and blog posts.")
    comments = serializers.IntegerField()
    attachments = serializers.IntegerField()
    attachment_bytes = serializers.IntegerField()
    data_bytes = serializers.IntegerField()
    personal_spaces = serializers.IntegerField()
    counted_at = serializers.DateTimeField(allow_null=True)


class HomeSerializer(serializers.Serializer):
    type = serializers.ChoiceField(choices=["embedded", "connected"])
    site_url = serializers.CharField(allow_null=True)
    connection = serializers.IntegerField(allow_null=True)


class ProductSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    kind = serializers.ChoiceField(choices=Product.Kind.choices)
    name = serializers.CharField()
    url = serializers.CharField(allow_blank=True)
    home = HomeSerializer()
    content_summary = ContentSummarySerializer(
        allow_null=True, help_text="As last counted; null for a connected site not backed up."
    )
    policy = serializers.IntegerField(allow_null=True)


class ConnectionSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    product = serializers.IntegerField()
    site_url = serializers.CharField()
    email = serializers.CharField()
    account_name = serializers.CharField(allow_blank=True)
    connected = serializers.BooleanField(help_text="False once disconnected (no credentials).")
    checked_at = serializers.DateTimeField(allow_null=True)
    check_ok = serializers.BooleanField()
    check_message = serializers.CharField(allow_blank=True)


# --- policies (P1-P4) ------------------------------------------------------------------------

# The options a policy has (P2), as the API reads and writes them. A new option of the policy
# (A1's schedule, A3's verify) is one line here: its type and choices come from the model.
POLICY_OPTION_FIELDS = (
    "include_attachments",
    "include_personal_spaces",
    "include_users_and_groups",
    "verify",  # A3
    "schedule",  # A1: manual, or weekly on schedule_weekday (0 = Monday) at schedule_time
    "schedule_weekday",
    "schedule_time",
)


class PolicyOptionsSerializer(serializers.ModelSerializer):
    """The options sent; on an edit (`instance` the policy) the ones not sent stay as they are."""

    class Meta:
        model = BackupPolicy
        fields = POLICY_OPTION_FIELDS
        extra_kwargs = {name: {"required": False} for name in POLICY_OPTION_FIELDS}

    def validate(self, attrs):
        def value(name):
            return attrs.get(name, getattr(self.instance, name, None))

        problems = schedule_problems(
            schedule=value("schedule") or BackupPolicy.Schedule.MANUAL,
            weekday=value("schedule_weekday"),
            at=value("schedule_time"),
        )
        if problems:
            raise serializers.ValidationError(problems)
        return attrs


class PolicyCreateSerializer(PolicyOptionsSerializer):
    product = serializers.IntegerField(help_text="The product's id; one policy per product (P1).")

    class Meta(PolicyOptionsSerializer.Meta):
        fields = ("product", *POLICY_OPTION_FIELDS)


class PolicySerializer(serializers.ModelSerializer):
    product_name = serializers.CharField(source="product.name")
    run_backup = DecisionSerializer(
        required=False, help_text="May a backup run now (B1, B3, B4, B6), and if not, why."
    )

    class Meta:
        model = BackupPolicy
        fields = (
            "id",
            "product",
            "product_name",
            *POLICY_OPTION_FIELDS,
            "next_run_at",
            "storage",
            "created_at",
            "updated_at",
            "run_backup",
        )


# --- backups, files, downloads (B1-B8, D1-D6) ------------------------------------------------


class ProgressSerializer(serializers.Serializer):
    percent = serializers.IntegerField()
    items_done = serializers.IntegerField()
    items_total = serializers.IntegerField()


class BackupFileSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=BackupFile.Status.choices)
    file_name = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField(allow_blank=True)
    percent = serializers.IntegerField()
    downloads_used = serializers.IntegerField()
    downloads_left = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    ready_at = serializers.DateTimeField(allow_null=True)
    failure_reason = serializers.CharField(allow_blank=True)
    download = DecisionSerializer(allow_null=True, help_text="May a download start now (D3).")


class BackupSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    product = serializers.IntegerField()
    product_name = serializers.CharField()
    kind = serializers.ChoiceField(choices=Product.Kind.choices)
    status = serializers.ChoiceField(choices=Backup.Status.choices)
    trigger = serializers.ChoiceField(choices=Backup.Trigger.choices)
    attempt = serializers.IntegerField()
    run_by = serializers.CharField(allow_null=True)
    options = serializers.DictField(help_text="The policy's options when it started (P3).")
    started_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    expires_at = serializers.DateTimeField(help_text="B7: 14 days after it was taken.")
    expired_at = serializers.DateTimeField(allow_null=True)
    progress = ProgressSerializer()
    counts = serializers.DictField()
    total_bytes = serializers.IntegerField()
    missing = serializers.ListField(child=serializers.DictField())
    failure_reason = serializers.CharField(allow_blank=True)
    file = BackupFileSerializer(allow_null=True)


class BackupRunSerializer(serializers.Serializer):
    product = serializers.IntegerField(help_text="The product to back up, with its policy.")


class DownloadLinkSerializer(serializers.Serializer):
    url = serializers.CharField(help_text="GET it with the same token: one copy of the file (D6).")
    expires_at = serializers.DateTimeField()
    download = serializers.IntegerField(help_text="This download's number, 1 to 3 (D3).")
    downloads_left = serializers.IntegerField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()


# --- restores (R1-R8) ------------------------------------------------------------------------


class RestoreRequestSerializer(serializers.Serializer):
    backup = serializers.IntegerField(required=False, help_text="A backup in storage (R3).")
    upload = serializers.IntegerField(required=False, help_text="A validated uploaded file (R4).")
    destination = serializers.IntegerField(help_text="A product of the same kind (R1, R6).")
    include_attachments = serializers.BooleanField(default=True)
    include_users_and_groups = serializers.BooleanField(default=True)

    def validate(self, data):
        if ("backup" in data) == ("upload" in data):
            raise serializers.ValidationError("Name one source: a backup or an upload.")
        return data


class RestoredRowSerializer(serializers.Serializer):
    label = serializers.CharField()
    rows = serializers.IntegerField()


class RestorePlanSerializer(DecisionSerializer):
    source = serializers.CharField(help_text="What is restored, in the review's words.")
    destination = serializers.IntegerField()
    destination_name = serializers.CharField()
    restored = RestoredRowSerializer(many=True)
    skipped_space_keys = serializers.ListField(child=serializers.CharField())
    left_out = serializers.ListField(child=serializers.CharField())
    not_settable = serializers.ListField(child=serializers.CharField())
    missing = serializers.ListField(child=serializers.DictField())
    preview_error = serializers.CharField(allow_blank=True)


class ReportRowSerializer(serializers.Serializer):
    label = serializers.CharField()
    restored = serializers.IntegerField()
    skipped = serializers.IntegerField()


class RestoreSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Restore.Status.choices)
    backup = serializers.IntegerField(help_text="The id of the backup restored.")
    upload = serializers.IntegerField(allow_null=True)
    source_product_name = serializers.CharField()
    destination = serializers.IntegerField()
    destination_name = serializers.CharField()
    run_by = serializers.CharField(allow_null=True)
    options = serializers.DictField()
    started_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)
    progress = ProgressSerializer()
    report = ReportRowSerializer(many=True)
    skipped_space_keys = serializers.ListField(child=serializers.CharField())
    failure_reason = serializers.CharField(allow_blank=True)


# --- uploads (R4, R9) ------------------------------------------------------------------------


class UploadStartSerializer(serializers.Serializer):
    file_name = serializers.CharField(max_length=1000)
    size = serializers.IntegerField(min_value=0, help_text="The file's size in bytes.")


class UploadCheckSerializer(serializers.Serializer):
    name = serializers.CharField()
    title = serializers.CharField()
    state = serializers.ChoiceField(choices=["passed", "failed", "skipped"])
    detail = serializers.CharField(allow_blank=True)


class UploadSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    file_name = serializers.CharField()
    declared_size = serializers.IntegerField()
    received_bytes = serializers.IntegerField()
    status = serializers.ChoiceField(choices=Upload.Status.choices)
    chunk_size = serializers.IntegerField(help_text="Every chunk but the last is this size.")
    chunk_url = serializers.CharField(help_text="PUT each chunk here, with X-Upload-Offset.")
    checks = UploadCheckSerializer(many=True)
    backup_id = serializers.IntegerField(allow_null=True, help_text="From the file's manifest.")
    deleted_reason = serializers.CharField(allow_blank=True)


# --- audit events (A5) -----------------------------------------------------------------------


class AuditEventSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    actor = serializers.CharField(allow_null=True, help_text="null: the system.")
    action = serializers.CharField()
    target = serializers.CharField(allow_blank=True)
    product = serializers.IntegerField(allow_null=True)
    client_address = serializers.CharField(allow_null=True)
    details = serializers.DictField()
