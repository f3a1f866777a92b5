"""The OpenAPI document (K4) and its docs page."""

from csp.constants import SELF
from csp.decorators import csp_update
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

schema_view = SpectacularAPIView.as_view()

# Swagger UI's stylesheet draws its icons as data: images; nothing else is loosened, and only
# on this page.
docs_view = csp_update({"img-src": [SELF, "data:"]})(
    SpectacularSwaggerSplitView.as_view(url_name="api_schema", template_name="api/docs.html")
)
