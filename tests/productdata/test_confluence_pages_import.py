"""#16: a Confluence restore's pages go in a slice at a time, their ids taken first from the
table's own sequence, each with its parent's new id when the parent came before it or in the
same slice; a parent that comes later is linked once every page has an id, and one the backup
lacks leaves its child at the top of the tree. The ids follow the file's order, never collide
with a page written meanwhile, and never take back the id of a page since deleted."""

import pytest

from backups.models import Page, PageComment, Space
from backups.productdata import ImportOptions
from backups.productdata.confluence import ConfluenceData
from tests.factories import confluence_product, org_with_admin

WHEN = "2026-09-01T09:00:00.250000+00:00"


class Rows:
    """A RowSource of plain rows, by content type; `meanwhile(n)` runs before page row n."""

    def __init__(self, meanwhile=None, **rows):
        self._rows, self._meanwhile = rows, meanwhile

    def rows(self, content_type):
        for n, row in enumerate(self._rows.get(content_type, [])):
            if content_type == "pages" and self._meanwhile:
                self._meanwhile(n)
            yield row

    def open_attachment(self, path):
        raise AssertionError("no attachments here")


def space(key="DOC", name="Docs", **more):
    return {"key": key, "name": name, "kind": "global", "state": "active", **more}


def page(pk, parent=None, kind="page", space="DOC"):
    return {
        "id": pk,
        "space": space,
        "kind": kind,
        "title": f"Page {pk}",
        "body": f"Body of {pk}",
        "parent": parent,
        "version": 2,
        "state": "active",
        "labels": ["x", pk],
        "created": WHEN,
        "updated": WHEN,
    }


# Source ids and parents, in file order, in slices of 3: 11's parent comes two slices later,
# 13's later in its own slice, 12's earlier in its own, 14's, 15's and 16's in an earlier
# slice; 17's is not in the backup.
PAGES = [
    page(10),
    page(11, parent=15),
    page(12, parent=10),
    page(13, parent=18),
    page(14, parent=10),
    page(18, parent=None),
    page(15, parent=12),
    page(16, parent=14),
    page(17, parent=999),
    page(19, kind="blogpost"),
]


def source(meanwhile=None):
    return Rows(
        meanwhile,
        spaces=[space(homepage=10)],
        pages=PAGES,
        comments=[
            {"page": pk, "author": "Ann", "body": f"On {pk}", "created": WHEN} for pk in (16, 11)
        ],
    )


@pytest.fixture
def slices_of_three(monkeypatch):
    monkeypatch.setattr("backups.productdata.confluence.INSERT_SLICE", 3)
    monkeypatch.setattr("backups.productdata.confluence.SQLITE_SLICE", 3)


def tree(product) -> dict[str, str | None]:
    pages = Page.objects.filter(space__product=product).select_related("parent")
    return {p.title: p.parent.title if p.parent else None for p in pages}


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("per_row", [False, True], ids=["keys checked per slice", "per row"])
def test_pages_of_many_slices_keep_their_tree_comments_and_home_page(
    slices_of_three, monkeypatch, per_row
):
    # per_row: a PostgreSQL role that may not skip the triggers (writes.may_skip_row_triggers)
    # has each page's keys checked at the slice's COMMIT, a parent later in the same COPY too.
    if per_row:
        monkeypatch.setattr("backups.productdata.writes.may_skip_row_triggers", lambda: False)
    org, _ = org_with_admin()
    target = confluence_product(org, spaces=0)

    report = ConfluenceData(target).import_content(source(), ImportOptions(), atomic=False)

    assert report.restored == {"spaces": 1, "pages": 10, "comments": 2}
    assert tree(target) == {
        "Page 10": None,
        "Page 11": "Page 15",  # its parent came two slices later
        "Page 12": "Page 10",
        "Page 13": "Page 18",  # later in its own slice
        "Page 14": "Page 10",
        "Page 18": None,
        "Page 15": "Page 12",  # an earlier slice
        "Page 16": "Page 14",
        "Page 17": None,  # its parent is not in the backup
        "Page 19": None,
    }
    stored = list(Page.objects.filter(space__product=target).order_by("id"))
    assert [p.title for p in stored] == [f"Page {r['id']}" for r in PAGES]  # the file's order
    assert stored[3].labels == ["x", 13] and stored[3].version == 2
    assert stored[3].created.isoformat() == WHEN
    assert Space.objects.get(product=target).homepage.title == "Page 10"
    comments = PageComment.objects.filter(page__space__product=target).order_by("id")
    assert [(c.page.title, c.body) for c in comments] == [
        ("Page 16", "On 16"),
        ("Page 11", "On 11"),
    ]


@pytest.mark.django_db(transaction=True)
def test_a_page_written_meanwhile_keeps_its_id(slices_of_three):
    org, _ = org_with_admin()
    target = confluence_product(org, spaces=0)
    theirs = Space.objects.get(product=confluence_product(org, "Other", spaces=1, pages=0))
    written = []

    def meanwhile(n):
        if n in (4, 7):  # slices written already: someone else saves a page
            written.append(
                Page.objects.create(space=theirs, title=f"Theirs {n}", created=WHEN, updated=WHEN)
            )

    ConfluenceData(target).import_content(source(meanwhile), ImportOptions(), atomic=False)

    ours = list(Page.objects.filter(space__product=target).values_list("id", flat=True))
    assert len(ours) == 10
    assert not set(ours) & {p.pk for p in written}
    assert all(Page.objects.filter(pk=p.pk, title=p.title).exists() for p in written)


@pytest.mark.django_db(transaction=True)
def test_the_id_of_a_page_since_deleted_is_not_given_again(slices_of_three):
    org, _ = org_with_admin()
    target = confluence_product(org, spaces=0)
    other = confluence_product(org, "Other", spaces=1, pages=3)
    gone = Page.objects.filter(space__product=other).order_by("-id")[:2]
    gone_ids = [p.pk for p in gone]
    Page.objects.filter(pk__in=gone_ids).delete()  # the highest ids so far

    ConfluenceData(target).import_content(source(), ImportOptions(), atomic=False)

    ours = Page.objects.filter(space__product=target).values_list("id", flat=True)
    assert min(ours) > max(gone_ids)


@pytest.mark.django_db(transaction=True)
def test_a_blog_post_with_a_parent_fails_the_import_with_the_databases_words(slices_of_three):
    # The database's check (a blog post is never part of a page tree), as with bulk_create.
    org, _ = org_with_admin()
    target = confluence_product(org, spaces=0)
    bad = Rows(
        spaces=[space()],
        pages=[page(1), page(2, parent=1, kind="blogpost")],
    )

    with pytest.raises(Exception, match="blogpost_has_no_parent|CHECK constraint failed"):
        ConfluenceData(target).import_content(bad, ImportOptions())

    assert not Page.objects.filter(space__product=target).exists()


@pytest.mark.django_db(transaction=True)
def test_a_version_as_text_is_a_number_and_one_that_is_no_number_says_so(slices_of_three):
    # As bulk_create took it: "3" is 3 (a binary COPY would refuse the text).
    org, _ = org_with_admin()
    target = confluence_product(org, spaces=0)
    spaces = [space()]
    ConfluenceData(target).import_content(
        Rows(spaces=spaces, pages=[{**page(1), "version": "3"}]), ImportOptions(), atomic=False
    )
    assert Page.objects.get(space__product=target).version == 3

    again = confluence_product(org, "Again", spaces=0)
    with pytest.raises(ValueError, match="Page 2 of the backup has version 'three', which is not"):
        ConfluenceData(again).import_content(
            Rows(spaces=spaces, pages=[page(1), {**page(2), "version": "three"}]), ImportOptions()
        )


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("ids", [[1, 2, 1], [1, 2, 3, 4, 2]], ids=["one slice", "two slices"])
def test_a_page_id_twice_fails_the_import_naming_it(slices_of_three, ids):
    # Which of the two would its children, comments and files belong to? An export never
    # writes one id twice: the file is refused, not guessed at.
    org, _ = org_with_admin()
    target = confluence_product(org, spaces=0)
    source = Rows(
        spaces=[space()],
        pages=[page(pk) for pk in ids],
    )

    with pytest.raises(ValueError, match=f"hold an id twice: {ids[-1]}"):
        ConfluenceData(target).import_content(source, ImportOptions())

    assert not Page.objects.filter(space__product=target).exists()


@pytest.mark.django_db(transaction=True)
def test_rows_of_a_skipped_space_are_skipped_unread_whatever_they_hold(slices_of_three):
    # R6: a space the destination has is skipped with everything in it. Its rows are counted
    # skipped where they are parsed, never built: one the import could not take (a version
    # that is no number, a missing field) does not fail the restore. Nor does a comment of a
    # page the backup lacks.
    org, _ = org_with_admin()
    target = confluence_product(org, spaces=0)
    Space.objects.create(product=target, key="OLD", name="Ours")
    source = Rows(
        spaces=[
            space(),
            space("OLD", "Theirs"),
        ],
        pages=[
            page(1),
            {**page(2, space="OLD"), "version": "three"},
            {k: v for k, v in page(3, space="OLD").items() if k != "updated"},
            page(4),
        ],
        comments=[
            {"page": 1, "author": "Ann", "body": "Kept", "created": WHEN},
            {"page": 2, "author": "Ann", "body": "Of OLD", "created": "yesterday"},
            {"page": 999, "author": "Ann", "body": "Of no page"},
        ],
    )

    report = ConfluenceData(target).import_content(source, ImportOptions(), atomic=False)

    assert report.skipped_space_keys == ["OLD"]
    assert report.restored == {"spaces": 1, "pages": 2, "comments": 1}
    assert report.skipped == {"spaces": 1, "pages": 2, "comments": 2}
    assert report.data_bytes == sum(
        len(t) for t in ("Page 1", "Body of 1", "Page 4", "Body of 4", "Kept")
    )
    assert set(Page.objects.filter(space__key="DOC").values_list("title", flat=True)) == {
        "Page 1",
        "Page 4",
    }
    assert list(PageComment.objects.filter(page__space__product=target).values_list("body")) == [
        ("Kept",)
    ]
