"""The API's restores (R1-R8: plan as the wizard's review shows it, start, status) and uploads
(R4, R9: the page's chunked, resumable protocol)."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from backups import storage
from backups.access import access_product, access_restore, access_upload
from backups.models import Restore, Upload
from backups.services.errors import Refused
from backups.services.uploads import upload_chunk, upload_start
from backups.views.restore_sources import review_context, wizard_source
from backups.views.uploads import START_REFUSED_STATUS

from . import representations as rep
from . import serializers as s
from .errors import ApiError, refused
from .views import errors, paginated

# --- restores --------------------------------------------------------------------------------


def _restore_choice(request):
    """The source and destination a request names, through access.py (another org's: 404),
    and whether the source may be restored at all now (R2-R5), as the wizard asks first."""
    form = s.RestoreRequestSerializer(data=request.data)
    form.is_valid(raise_exception=True)
    data = form.validated_data
    source = wizard_source(request.org, data)
    destination = access_product(request.org, data["destination"])
    return source, destination, data, source.decision()


class RestorePlan(APIView):
    @extend_schema(
        request=s.RestoreRequestSerializer,
        responses={200: s.RestorePlanSerializer, **errors(400, 404, 409)},
    )
    def post(self, request):
        """What the wizard's review shows: whether the restore may start now and why not (R1-R6),
        what will be restored, skipped (R6) and left out (R7), and what a connected site cannot
        set (C6). Nothing is written."""
        source, destination, data, decision = _restore_choice(request)
        if decision:
            decision = source.decision_into(destination)
        plan = {
            **rep.decision(decision),
            "source": source.label,
            "destination": destination.pk,
            "destination_name": destination.name,
            "restored": [],
            "skipped_space_keys": [],
            "left_out": [],
            "not_settable": [],
            "missing": [],
            "preview_error": "",
        }
        if decision:
            plan.update(
                review_context(
                    source,
                    destination,
                    include_attachments=data["include_attachments"] and source.has_attachments,
                    include_users_and_groups=data["include_users_and_groups"]
                    and source.has_users_and_groups,
                )
            )
        return Response(s.RestorePlanSerializer(plan).data)


class RestoreList(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
        responses={200: s.page_of(s.RestoreSerializer), **errors()},
        operation_id="restores_list",
    )
    def get(self, request):
        """Restores into the organization's products, newest first."""
        restores = (
            Restore.objects.filter(destination__organization=request.org.organization)
            .select_related("destination", "created_by")
            .order_by("-started_at", "-id")
        )
        return paginated(request, self, restores, rep.restore)

    @extend_schema(
        request=s.RestoreRequestSerializer,
        responses={201: s.RestoreSerializer, **errors(400, 404, 409)},
    )
    def post(self, request):
        """Restore: every rule is checked again by the service, under locks (R1-R7)."""
        source, destination, data, decision = _restore_choice(request)
        if not decision:
            raise Refused(decision)
        restore = source.restore(
            destination=destination,
            actor=request.user,
            attachments=data["include_attachments"] and source.has_attachments,
            groups=data["include_users_and_groups"] and source.has_users_and_groups,
        )
        restore = access_restore(request.org, restore.pk)
        return Response(s.RestoreSerializer(rep.restore(restore)).data, status=201)


class RestoreDetail(APIView):
    @extend_schema(responses={200: s.RestoreSerializer, **errors(404)})
    def get(self, request, restore_id: int):
        """A restore's status, progress, and (when it ended) what it restored and skipped."""
        return Response(
            s.RestoreSerializer(rep.restore(access_restore(request.org, restore_id))).data
        )


# --- uploads ---------------------------------------------------------------------------------


class UploadList(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
        responses={200: s.page_of(s.UploadSerializer), **errors()},
        operation_id="uploads_list",
    )
    def get(self, request):
        """The organization's uploaded backup files, newest first."""
        uploads = Upload.objects.filter(organization=request.org.organization).order_by(
            "-created_at", "-id"
        )
        return paginated(request, self, uploads, rep.upload)

    @extend_schema(
        request=s.UploadStartSerializer,
        responses={201: s.UploadSerializer, **errors(400, 409, 413, 507)},
    )
    def post(self, request):
        """Upload backup file, step 1: its name and size. Refused before the first byte when
        it cannot fit (D2, the free space, the unfinished-uploads cap)."""
        form = s.UploadStartSerializer(data=request.data)
        form.is_valid(raise_exception=True)
        try:
            upload = upload_start(
                organization=request.org.organization,
                actor=request.user,
                file_name=form.validated_data["file_name"],
                size=form.validated_data["size"],
            )
        except Refused as exc:
            bound = getattr(exc.decision, "bound", "")
            raise refused(exc, status_code=START_REFUSED_STATUS.get(bound, 400))
        return Response(s.UploadSerializer(rep.upload(upload)).data, status=201)


class UploadDetail(APIView):
    @extend_schema(responses={200: s.UploadSerializer, **errors(404)})
    def get(self, request, upload_id: int):
        """Where an upload is: resume from `received_bytes`; once received, its checks (R9)."""
        return Response(s.UploadSerializer(rep.upload(access_upload(request.org, upload_id))).data)


class UploadChunk(APIView):
    # The chunk is the raw body, read from the stream (never parsed, never held twice).
    parser_classes = []

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "X-Upload-Offset",
                int,
                OpenApiParameter.HEADER,
                required=True,
                description="The byte the chunk starts at: the upload's received_bytes.",
            )
        ],
        request={"application/octet-stream": OpenApiTypes.BINARY},
        responses={200: s.UploadSerializer, **errors(400, 404, 409, 413, 503)},
    )
    def put(self, request, upload_id: int):
        """Upload backup file, step 2: one chunk at its offset. A wrong offset answers 409
        with the upload, whose received_bytes is where to resume."""
        upload = access_upload(request.org, upload_id)
        try:
            offset = int(request.headers.get("X-Upload-Offset", ""))
            length = int(request.META.get("CONTENT_LENGTH") or "")
        except ValueError:
            raise ApiError(
                "A chunk needs its offset (X-Upload-Offset) and its length (Content-Length).",
                code="invalid",
                status_code=400,
            )
        if offset < 0 or length < 0:
            raise ApiError(
                "A chunk's offset and length are whole numbers of bytes.",
                code="invalid",
                status_code=400,
            )
        if length > storage.UPLOAD_CHUNK:
            raise ApiError(
                f"A chunk can be at most {storage.UPLOAD_CHUNK} bytes; this one is {length}.",
                code="too_large",
                status_code=413,
            )
        try:
            data = request._request.read(length) if length > 0 else b""
        except OSError:  # the connection dropped mid-chunk
            data = b""
        if len(data) != length:
            raise ApiError(
                "The chunk arrived incomplete; send it again.", code="invalid", status_code=400
            )
        try:
            upload = upload_chunk(upload=upload, offset=offset, data=data)
        except Refused as exc:
            upload.refresh_from_db()
            conflict = offset != upload.received_bytes or upload.status != Upload.Status.RECEIVING
            raise refused(exc, code="refused", status_code=409 if conflict else 400)
        except storage.StorageError as exc:
            raise ApiError(
                f"The chunk could not be stored ({exc}); send it again shortly.",
                code="storage",
                status_code=503,
            )
        return Response(s.UploadSerializer(rep.upload(upload)).data)
