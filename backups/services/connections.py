"""Connected sites: connect, check, edit, disconnect (SPEC C1, C2).

The API token is encrypted before it is stored and decrypted only to build a client; it is
never put in an audit event, a log line, a message or an error (C2).
"""

from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from backups import credentials, rules
from backups.connectors.confluence import ConfluenceCloud, site_origin_of
from backups.connectors.http import RetryPolicy, SiteHTTP
from backups.connectors.jira import CheckResult, JiraCloud
from backups.models import BackupPolicy, Organization, Product, SiteConnection

from .audit import record_event
from .errors import Refused


@dataclass(frozen=True)
class SiteDetails:
    kind: str
    name: str
    site_url: str
    email: str
    token: str  # empty on edit: keep the stored one


def site_client(
    connection: SiteConnection, *, timeout: float = 30.0
) -> JiraCloud | ConfluenceCloud:
    """A client for the connection's site, with its decrypted token."""
    if not connection.token_encrypted:
        raise Refused(
            f"{connection.product} is disconnected: connect it again (Edit connection) to use it."
        )
    confluence = connection.product.kind == Product.Kind.CONFLUENCE
    http = SiteHTTP(
        # Confluence's two APIs are under /wiki on the site's host; the client names it.
        site_origin_of(connection.site_url) if confluence else connection.site_url,
        email=connection.email,
        token=credentials.decrypt(connection.token_encrypted),
        timeout=timeout,
        concurrency=16,  # calls at once: downloads and restores run this many side by side
        retry=RetryPolicy(
            attempts=settings.SITE_RETRY_ATTEMPTS, base_delay=settings.SITE_RETRY_BASE_DELAY
        ),
    )
    return ConfluenceCloud(http) if confluence else JiraCloud(http)


def _url_problem(kind: str, url: str) -> str | None:
    return rules.site_url_problem(url, kind, extra_hosts=settings.CONNECTED_SITE_EXTRA_HOSTS)


def connection_check(*, connection: SiteConnection) -> CheckResult:
    """C1: check the connection now and keep the answer on the row."""
    try:
        client = site_client(connection, timeout=15.0)
    except (Refused, credentials.CredentialError) as exc:
        result = CheckResult(False, str(exc))
    else:
        try:
            result = client.check_connection()
        finally:
            client.http.close()
    fields = {
        "checked_at": timezone.now(),
        "check_ok": result.ok,
        "check_message": result.message,
    }
    if result.account:
        fields["account_id"] = result.account.account_id
        fields["account_name"] = result.account.display_name
    SiteConnection.objects.filter(pk=connection.pk).update(**fields)
    for name, value in fields.items():
        setattr(connection, name, value)
    return result


def connection_create(*, organization: Organization, actor, details: SiteDetails) -> SiteConnection:
    """Connect a site: a new product whose home is the site, checked at once (C1).

    A connection whose check fails is still saved, with the answer shown: the admin fixes the
    token or the account and checks again, without typing everything anew."""
    problem = _url_problem(details.kind, details.site_url)
    if problem:
        raise Refused(problem)
    if not details.token:
        raise Refused("Enter the account's API token.")
    try:
        with transaction.atomic():
            product = Product.objects.create(
                organization=organization,
                kind=details.kind,
                name=details.name,
                url=rules.site_url_normal(details.site_url),
            )
            BackupPolicy.objects.create(product=product)
            connection = SiteConnection.objects.create(
                product=product,
                site_url=rules.site_url_normal(details.site_url),
                email=details.email,
                token_encrypted=credentials.encrypt(details.token),
                created_by=actor,
            )
    except IntegrityError:
        raise Refused(f"The organization already has a product named {details.name!r}.")
    connection_check(connection=connection)
    record_event(
        action="connection.created",
        actor=actor,
        organization=organization,
        target=product,
        details={
            "site_url": connection.site_url,
            "email": connection.email,
            "check_ok": connection.check_ok,
        },
    )
    return connection


def connection_update(*, connection: SiteConnection, actor, details: SiteDetails) -> SiteConnection:
    """Edit the address, the email or the token (a blank token keeps the stored one)."""
    problem = _url_problem(connection.product.kind, details.site_url)
    if problem:
        raise Refused(problem)
    if not details.token and not connection.token_encrypted:
        raise Refused(
            "Enter the account's API token: the connection has none since it was disconnected."
        )
    connection.site_url = rules.site_url_normal(details.site_url)
    connection.email = details.email
    if details.token:
        connection.token_encrypted = credentials.encrypt(details.token)
    connection.save(update_fields=["site_url", "email", "token_encrypted", "updated_at"])
    Product.objects.filter(pk=connection.product_id).update(url=connection.site_url)
    connection_check(connection=connection)
    record_event(
        action="connection.updated",
        actor=actor,
        organization=connection.product.organization,
        target=connection.product,
        details={
            "site_url": connection.site_url,
            "email": connection.email,
            "token_changed": bool(details.token),
            "check_ok": connection.check_ok,
        },
    )
    return connection


def connection_disconnect(*, connection: SiteConnection, actor) -> None:
    """Forget the token. The product and its backups stay (they can still be restored
    elsewhere); backing the site up again needs the token again."""
    now = timezone.now()
    SiteConnection.objects.filter(pk=connection.pk).update(
        token_encrypted="",
        check_ok=False,
        checked_at=now,
        check_message=f"Disconnected by {actor.get_username()}: the API token was deleted.",
    )
    record_event(
        action="connection.disconnected",
        actor=actor,
        organization=connection.product.organization,
        target=connection.product,
        details={"site_url": connection.site_url},
    )
