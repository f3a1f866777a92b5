"""Lists are paginated (K3): `?page=N`, with `next` and `previous` links and the count. Rows
are ordered by a stable key (newest first, then id), so ids do not move between pages."""

from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    page_size_query_param = "page_size"
    max_page_size = 200
