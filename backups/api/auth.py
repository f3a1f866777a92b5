"""Who a request is (K2): its bearer token, acting as the org admin who made it, in that
token's organization only; and how often it may ask (K3)."""

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions, throttling

from backups.access import access_organization
from backups.services.audit import _valid_address

from .errors import ApiError
from .tokens import TokenRefused, api_token_authenticate

HOW_TO_AUTHENTICATE = (
    "Send an API token in the header Authorization: Bearer <token>. An org admin makes one on "
    "the organization's API tokens page."
)


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer bks_…`: the token's creator, and the token as `request.auth`."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, token = header.partition(" ")
        if scheme.lower() != self.keyword.lower() or not token.strip():
            raise exceptions.AuthenticationFailed(HOW_TO_AUTHENTICATE)
        from backupsite.security import client_ip

        try:
            api_token = api_token_authenticate(
                token=token.strip(), address=_valid_address(client_ip(request))
            )
        except TokenRefused as exc:
            raise exceptions.AuthenticationFailed(str(exc))
        return api_token.created_by, api_token

    def authenticate_header(self, request):
        # A 401 (not a 403) for a request without a token, with the scheme it needs.
        return self.keyword


class OrgAdminToken(permissions.BasePermission):
    """The same preconditions as the pages' org_admin_required, in JSON: the token's creator
    must still be an org admin of its organization (K2), which must be enrolled (SPEC §1).
    Gives the view `request.org`, the OrgAccess every access.py helper takes."""

    def has_permission(self, request, view):
        api_token = request.auth
        if api_token is None:
            raise exceptions.NotAuthenticated(HOW_TO_AUTHENTICATE)
        org = access_organization(request.user, api_token.organization.slug)
        if not org.organization.enrolled:
            raise ApiError(
                "Backup and restore is in early access, and "
                f"{org.organization.name} is not enrolled yet. To use it for your "
                "organization, contact your account representative.",
                code="not_enrolled",
                status_code=403,
            )
        if not org.is_admin:
            raise ApiError(
                f"Only org admins of {org.organization.name} manage backups; this token's "
                "maker is no longer one.",
                code="not_org_admin",
                status_code=403,
            )
        request.org = org
        return True


class TokenRateThrottle(throttling.SimpleRateThrottle):
    """K3: requests per token (BACKUPSITE_API_RATE, 120 a minute by default), answered 429
    with Retry-After beyond it."""

    scope = "token"

    def get_rate(self):
        return settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"][self.scope]

    def get_cache_key(self, request, view):
        if request.auth is None:
            return None
        return self.cache_format % {"scope": self.scope, "ident": request.auth.pk}


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """The OpenAPI document's security scheme (K4): a bearer token."""

    target_class = ApiTokenAuthentication
    name = "apiToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "A personal API token, bks_…, made on the API tokens page (K2).",
        }
