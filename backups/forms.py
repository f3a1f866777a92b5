"""Forms of the Backup and restore pages. They only collect input: the services decide."""

from zoneinfo import available_timezones

from django import forms

from backups.models import BackupPolicy, Product
from backups.rules.schedules import schedule_problems, time_zone_problem

PERSONAL_SPACES_HINT = "Users' personal spaces are backed up too. Ignored for a Jira product."


class PolicyOptionsForm(forms.Form):
    """The options of a backup policy (P2). Personal spaces only exist in Confluence."""

    include_attachments = forms.BooleanField(
        label="Include attachments",
        required=False,
        initial=True,
        help_text="The files attached to issues and pages. They are usually most of the size.",
    )
    include_personal_spaces = forms.BooleanField(
        label="Include personal spaces (Confluence only)",
        required=False,
        initial=True,
        help_text=PERSONAL_SPACES_HINT,
    )
    include_users_and_groups = forms.BooleanField(
        label="Include users and groups",
        required=False,
        initial=True,
        help_text="The organization's groups, their members, and their access to the product.",
    )

    # A3: another engineer's job checks the backups; the policy only says whether to.
    verify = forms.BooleanField(
        label="Check each backup can be restored",
        required=False,
        initial=True,
        help_text="After each backup, read it back end to end and make a trial restore nobody "
        "sees.",
    )
    # A1: when backups run: on the Run backup button only, or weekly at a day and time too.
    schedule = forms.ChoiceField(
        label="When",
        choices=BackupPolicy.Schedule.choices,
        initial=BackupPolicy.Schedule.MANUAL,
        widget=forms.RadioSelect,
        # Not sent (a client older than A1): the schedule stays as it is (manual when new).
        required=False,
    )
    schedule_weekday = forms.TypedChoiceField(
        label="Day",
        choices=[("", "Choose a day…"), *BackupPolicy.Weekday.choices],
        coerce=int,
        empty_value=None,
        required=False,
    )
    schedule_time = forms.TimeField(
        label="Time",
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
    )

    option_names = (
        "include_attachments",
        "include_personal_spaces",
        "include_users_and_groups",
        "verify",
    )
    schedule_names = ("schedule", "schedule_weekday", "schedule_time")

    def clean(self):
        cleaned = super().clean()
        problems = schedule_problems(
            schedule=cleaned.get("schedule"),
            weekday=cleaned.get("schedule_weekday"),
            at=cleaned.get("schedule_time"),
        )
        for field, problem in problems.items():
            if field not in self.errors:
                self.add_error(field, problem)
        return cleaned

    def options(self) -> dict:
        names = self.option_names
        if self.cleaned_data.get("schedule"):
            names = (*names, *self.schedule_names)
        return {name: self.cleaned_data[name] for name in names if name in self.fields}


class PolicyCreateForm(PolicyOptionsForm):
    """Create backup policy: offers only the organization's products that have no policy (P1).

    The field accepts any product of the organization, so a product that got its policy
    meanwhile (another admin) reaches the service, whose refusal the form then shows.
    """

    product = forms.ModelChoiceField(
        label="Product", queryset=Product.objects.none(), empty_label="Choose a product…"
    )

    def __init__(self, *args, organization, **kwargs):
        super().__init__(*args, **kwargs)
        self.order_fields(["product", *self.option_names, *self.schedule_names])
        products = organization.products.order_by("kind", "name")
        self.available = list(products.filter(backup_policy__isnull=True))
        field = self.fields["product"]
        field.queryset = products
        field.label_from_instance = lambda p: f"{p.name} ({p.get_kind_display()})"
        field.widget.choices = [("", field.empty_label)] + [
            (p.pk, field.label_from_instance(p)) for p in self.available
        ]
        if len(self.available) == 1:
            field.initial = self.available[0].pk
        # P2: personal spaces exist only in Confluence. Once the product is known (chosen, sent,
        # or the only kind on offer is Jira) a Jira product is not offered the box at all.
        chosen = self._chosen_product(products)
        kinds = {chosen.kind} if chosen else {p.kind for p in self.available}
        if Product.Kind.CONFLUENCE not in kinds:
            del self.fields["include_personal_spaces"]
        elif chosen:
            self.fields["include_personal_spaces"].label = "Include personal spaces"
            self.fields[
                "include_personal_spaces"
            ].help_text = "Users' personal spaces are backed up too."

    def _chosen_product(self, products):
        """The product the form is about, if known: from the POST, or ?product= / the only one."""
        wanted = self.data.get("product") if self.is_bound else self.initial.get("product")
        wanted = wanted or self.fields["product"].initial
        if not wanted:
            return None
        try:
            return products.filter(pk=int(wanted)).first()
        except (TypeError, ValueError):
            return None


class PolicyEditForm(PolicyOptionsForm):
    """Edit policy: the same options; personal spaces only for a Confluence product."""

    def __init__(self, *args, policy: BackupPolicy, **kwargs):
        kwargs.setdefault(
            "initial",
            {name: getattr(policy, name) for name in (*self.option_names, *self.schedule_names)},
        )
        super().__init__(*args, **kwargs)
        if policy.product.kind != Product.Kind.CONFLUENCE:
            del self.fields["include_personal_spaces"]
        else:
            self.fields["include_personal_spaces"].label = "Include personal spaces"
            self.fields[
                "include_personal_spaces"
            ].help_text = "Users' personal spaces are backed up too."


class TimeZoneForm(forms.Form):
    """The organization's time zone, which weekly schedules read (A1)."""

    time_zone = forms.CharField(
        label="Time zone",
        max_length=64,
        help_text="Scheduled backups run at their day and time on this time zone's clocks, "
        "summer time included.",
        widget=forms.TextInput(attrs={"list": "time-zones", "autocomplete": "off"}),
    )

    @staticmethod
    def names() -> list[str]:
        return sorted(available_timezones())

    def clean_time_zone(self):
        name = self.cleaned_data["time_zone"].strip()
        problem = time_zone_problem(name)
        if problem:
            raise forms.ValidationError(problem)
        return name


# --- Restore wizard ------------------------------------------------------------------------


def _flag(value: str) -> bool:
    return value == "1"


class RestoreChoiceForm(forms.Form):
    """The restore wizard's state: from the URL on each step (GET), from the Restore button
    (POST). Every field is optional here; each step asks for what it needs.

    The source is `backup` (a backup in the service's storage) or `upload` (a validated
    uploaded backup file, R4): one of the two.
    """

    FLAG = [("1", "Yes"), ("0", "No")]

    product = forms.IntegerField(required=False, min_value=1)
    backup = forms.IntegerField(required=False, min_value=1)
    upload = forms.IntegerField(required=False, min_value=1)
    attachments = forms.TypedChoiceField(
        choices=FLAG, coerce=_flag, required=False, empty_value=None
    )
    groups = forms.TypedChoiceField(choices=FLAG, coerce=_flag, required=False, empty_value=None)
    destination = forms.IntegerField(required=False, min_value=1)


# --- Upload backup file (R4) ---------------------------------------------------------------


class UploadStartForm(forms.Form):
    """What the browser says of the file before its first byte: its name and size (D2)."""

    file_name = forms.CharField(max_length=1000)
    size = forms.IntegerField(min_value=0)


# --- Connected sites (SPEC §8) ---------------------------------------------------------------


class ConnectionForm(forms.Form):
    """Connect a site (C1), or edit a connection: then the kind is fixed and a blank token
    keeps the stored one (it is never shown back, C2)."""

    kind = forms.ChoiceField(
        label="Product",
        choices=Product.Kind.choices,
        widget=forms.RadioSelect,
        initial=Product.Kind.JIRA,
    )
    name = forms.CharField(
        label="Name in backupsite",
        max_length=200,
        help_text="How this product is called on these pages, for example “Acme Jira Cloud”.",
    )
    site_url = forms.CharField(
        label="Site address",
        max_length=300,
        help_text="For example https://acme.atlassian.net (Confluence: https://acme.atlassian.net/wiki).",
    )
    email = forms.EmailField(
        label="Account email", help_text="The Atlassian account the token belongs to."
    )
    token = forms.CharField(
        label="API token",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "off"}),
        help_text="Create one at id.atlassian.com → Security → API tokens. The account must "
        "administer the site. The token is stored encrypted and never shown again.",
    )

    def __init__(self, *args, connection=None, **kwargs):
        self.connection = connection
        if connection is not None:
            kwargs.setdefault(
                "initial",
                {"site_url": connection.site_url, "email": connection.email},
            )
        super().__init__(*args, **kwargs)
        if connection is not None:
            del self.fields["kind"]
            del self.fields["name"]
            self.fields["token"].help_text = (
                "Leave it empty to keep the stored token. " + self.fields["token"].help_text
            )
        else:
            self.fields["token"].required = True

    def details(self):
        """What the connection services take; on edit, the kind and name stay as they are."""
        from backups.services.connections import SiteDetails

        data = self.cleaned_data
        product = self.connection.product if self.connection else None
        return SiteDetails(
            kind=product.kind if product else data["kind"],
            name=product.name if product else data["name"],
            site_url=data["site_url"],
            email=data["email"],
            token=data["token"],
        )
