"""The API's endpoints for the organization, products, connections, policies, backups, backup
files and downloads, and audit events (K1). Each fetches through access.py (another
organization's object: 404), asks the same service as the page, and answers a refusal with
the service's words (errors.py)."""

from django.http import HttpResponse
from django.urls import resolve, reverse
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from backups import selectors
from backups.access import access_backup, access_connection, access_policy, access_product
from backups.models import AuditEvent, Backup, BackupPolicy, DownloadLink, SiteConnection
from backups.services.backups import backup_request
from backups.services.downloads import (
    LinkRefused,
    RangeNotSatisfiable,
    download_link_open,
    download_open,
    download_start,
)
from backups.services.files import backup_file_request
from backups.services.policies import backup_policy_create, backup_policy_update
from backups.views.audit_log import AuditFilterForm
from backups.views.files import file_response

from . import representations as rep
from . import serializers as s
from .errors import ApiError
from .pagination import Pagination


def errors(*codes: int) -> dict:
    # 401 no valid token, 403 not an org admin (or not enrolled), 429 the rate limit (K3).
    return {code: OpenApiResponse(s.Error) for code in (401, 403, 429, *codes)}


def paginated(request, view, queryset, represent):
    paginator = Pagination()
    page = paginator.paginate_queryset(queryset, request, view=view)
    return paginator.get_paginated_response([represent(obj) for obj in page])


# --- organization, products, connections -----------------------------------------------------


class OrganizationView(APIView):
    @extend_schema(responses={200: s.OrganizationSerializer, **errors()})
    def get(self, request):
        """The token's organization (K2: a token sees this one only)."""
        return Response(s.OrganizationSerializer(rep.organization(request.org.organization)).data)


class ProductList(APIView):
    @extend_schema(responses={200: s.ProductSerializer(many=True), **errors()})
    def get(self, request):
        """The organization's products: their home (embedded or a connected site) and their
        content as last counted."""
        items = selectors.products_section(request.org)
        return Response(s.ProductSerializer([rep.product(i) for i in items], many=True).data)


class ProductDetail(APIView):
    @extend_schema(responses={200: s.ProductSerializer, **errors(404)})
    def get(self, request, product_id: int):
        product = access_product(request.org, product_id)
        item = selectors.ProductItem(product, selectors.stored_summary(product))
        return Response(s.ProductSerializer(rep.product(item)).data)


class ConnectionList(APIView):
    @extend_schema(responses={200: s.ConnectionSerializer(many=True), **errors()})
    def get(self, request):
        """The connected sites (C1), without their credentials (C2)."""
        connections = SiteConnection.objects.filter(
            product__organization=request.org.organization
        ).order_by("product__name")
        return Response(
            s.ConnectionSerializer([rep.connection(c) for c in connections], many=True).data
        )


class ConnectionDetail(APIView):
    @extend_schema(responses={200: s.ConnectionSerializer, **errors(404)})
    def get(self, request, connection_id: int):
        connection = access_connection(request.org, connection_id)
        return Response(s.ConnectionSerializer(rep.connection(connection)).data)


# --- policies (P1-P4) ------------------------------------------------------------------------


def _policy_json(request, policy: BackupPolicy) -> dict:
    items = selectors.policies_section(request.org, timezone.now())["policies"]
    item = next(i for i in items if i.policy.pk == policy.pk)
    data = s.PolicySerializer(item.policy).data
    data["run_backup"] = s.DecisionSerializer(rep.decision(item.decision)).data
    return data


class PolicyList(APIView):
    @extend_schema(responses={200: s.PolicySerializer(many=True), **errors()})
    def get(self, request):
        """Every policy, with whether a backup may run now and why not (B3, B4, B6)."""
        items = selectors.policies_section(request.org, timezone.now())["policies"]
        rows = []
        for item in items:
            data = s.PolicySerializer(item.policy).data
            data["run_backup"] = s.DecisionSerializer(rep.decision(item.decision)).data
            rows.append(data)
        return Response(rows)

    @extend_schema(
        request=s.PolicyCreateSerializer,
        responses={201: s.PolicySerializer, **errors(400, 404, 409)},
    )
    def post(self, request):
        """Create backup policy: one per product (P1)."""
        form = s.PolicyCreateSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        options = dict(form.validated_data)
        product = access_product(request.org, options.pop("product"))
        policy = backup_policy_create(product=product, actor=request.user, **options)
        return Response(_policy_json(request, policy), status=status.HTTP_201_CREATED)


class PolicyDetail(APIView):
    @extend_schema(responses={200: s.PolicySerializer, **errors(404)})
    def get(self, request, policy_id: int):
        return Response(_policy_json(request, access_policy(request.org, policy_id)))

    @extend_schema(
        request=s.PolicyOptionsSerializer,
        responses={200: s.PolicySerializer, **errors(400, 404)},
    )
    def patch(self, request, policy_id: int):
        """Edit policy: later backups use the new options; running ones keep theirs (P3)."""
        policy = access_policy(request.org, policy_id)
        form = s.PolicyOptionsSerializer(policy, data=request.data, partial=True)
        form.is_valid(raise_exception=True)
        backup_policy_update(policy=policy, actor=request.user, **form.validated_data)
        return Response(_policy_json(request, policy))


# --- backups (B1-B8) -------------------------------------------------------------------------


class BackupList(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("status", str, enum=Backup.Status.values),
            OpenApiParameter("product", int),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses={200: s.page_of(s.BackupSerializer), **errors(400)},
        operation_id="backups_list",
    )
    def get(self, request):
        """The organization's backups, newest first; filter by status and product."""
        backups = (
            Backup.objects.filter(product__organization=request.org.organization)
            .select_related("product", "created_by", "file")
            .order_by("-started_at", "-id")
        )
        wanted = request.query_params.get("status")
        if wanted:
            if wanted not in Backup.Status.values:
                raise ApiError(
                    f"status is one of {', '.join(Backup.Status.values)}.",
                    code="invalid",
                    status_code=400,
                )
            backups = backups.filter(status=wanted)
        product = request.query_params.get("product")
        if product:
            backups = backups.filter(product=access_product(request.org, product))
        return paginated(request, self, backups, rep.backup)

    @extend_schema(
        request=s.BackupRunSerializer,
        responses={201: s.BackupSerializer, **errors(400, 404, 409)},
    )
    def post(self, request):
        """Run backup: refused with the page's reason while B3 or B4 holds (`not_before` for
        the 7-day wait), or past B6's sizes."""
        form = s.BackupRunSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        product = access_product(request.org, form.validated_data["product"])
        backup = backup_request(product=product, actor=request.user, trigger=Backup.Trigger.API)
        backup = access_backup(request.org, backup.pk)
        return Response(s.BackupSerializer(rep.backup(backup)).data, status=201)


class BackupDetail(APIView):
    @extend_schema(responses={200: s.BackupSerializer, **errors(404)})
    def get(self, request, backup_id: int):
        """A backup: status, progress, counts, what is missing, its file."""
        return Response(s.BackupSerializer(rep.backup(access_backup(request.org, backup_id))).data)


class BackupFileView(APIView):
    @extend_schema(responses={200: s.BackupFileSerializer, **errors(404)})
    def get(self, request, backup_id: int):
        """The backup file's status, size, SHA-256 and downloads left (D1, D3)."""
        data = rep.backup_file(access_backup(request.org, backup_id))
        if data is None:
            raise ApiError("Generate the backup file first.", code="no_file", status_code=404)
        return Response(s.BackupFileSerializer(data).data)

    @extend_schema(request=None, responses={202: s.BackupFileSerializer, **errors(404, 409)})
    def post(self, request, backup_id: int):
        """Generate backup file (D1, D2), in the background: poll its status."""
        backup = access_backup(request.org, backup_id)
        backup_file_request(backup=backup, actor=request.user)
        backup = access_backup(request.org, backup_id)
        return Response(s.BackupFileSerializer(rep.backup_file(backup)).data, status=202)


class DownloadStart(APIView):
    @extend_schema(request=None, responses={201: s.DownloadLinkSerializer, **errors(404, 409)})
    def post(self, request, backup_id: int):
        """Download: takes one of the backup's three downloads (D3) and gives a personal,
        short-lived link (D4) to one copy of the file (D6). The fourth is refused."""
        backup = access_backup(request.org, backup_id)
        backup_file = getattr(backup, "file", None)
        if backup_file is None:
            raise ApiError("Generate the backup file first.", code="no_file", status_code=409)
        page_url = download_start(backup_file=backup_file, actor=request.user)
        token = resolve(page_url).kwargs["token"]
        link = DownloadLink.objects.get(backup_file=backup_file, number=backup_file.downloads_used)
        data = {
            "url": request.build_absolute_uri(reverse("api_download", args=[token])),
            "expires_at": link.expires_at,
            "download": link.number,
            "downloads_left": backup_file.downloads_left,
            "size": backup_file.size,
            "sha256": backup_file.sha256,
        }
        return Response(s.DownloadLinkSerializer(data).data, status=201)


class DownloadView(APIView):
    """The file behind a download link, with the same token: one copy (D6), resumable with
    Range, only to its user and only while that user may still manage the backup (D4)."""

    @extend_schema(
        responses={
            (200, "application/zip"): OpenApiTypes.BINARY,
            (206, "application/zip"): OpenApiTypes.BINARY,
            **errors(404, 410, 416),
        }
    )
    def get(self, request, token: str):
        try:
            link = download_link_open(token=token, user=request.user)
        except LinkRefused as exc:
            raise ApiError(str(exc), code="link_refused", status_code=exc.status)
        # D4, and K2's one organization: the backup must be the token's organization's.
        backup = access_backup(request.org, link.backup_file.backup_id)
        try:
            download = download_open(
                link=link,
                method=request.method,
                range_header=request.headers.get("Range", ""),
                if_range=request.headers.get("If-Range"),
            )
        except LinkRefused as exc:
            raise ApiError(str(exc), code="link_refused", status_code=exc.status)
        except RangeNotSatisfiable as exc:
            response = HttpResponse(status=416)
            response["Content-Range"] = f"bytes */{exc.size}"
            return response
        return file_response(download, backup, link)


# --- audit events (A5) -----------------------------------------------------------------------


class AuditEventList(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("actor", str, description="A user's id, or `system`."),
            OpenApiParameter("action", str, description="For example backup.started."),
            OpenApiParameter("product", int),
            OpenApiParameter("start", OpenApiTypes.DATE, description="From this UTC day."),
            OpenApiParameter("end", OpenApiTypes.DATE, description="To this UTC day."),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses={200: s.page_of(s.AuditEventSerializer), **errors(400)},
        operation_id="audit_events_list",
    )
    def get(self, request):
        """The audit log (A5), newest first, with the page's filters."""
        organization = request.org.organization
        form = AuditFilterForm(request.query_params, organization=organization)
        if not form.is_valid():
            raise ApiError(
                " ".join(f"{k}: {' '.join(v)}" for k, v in form.errors.items()),
                code="invalid",
                status_code=400,
            )
        events = form.filter(
            AuditEvent.objects.filter(organization=organization).select_related("actor")
        ).order_by("-created_at", "-id")
        return paginated(request, self, events, rep.audit_event)
