"""The policy form offers "Include personal spaces" only where it means something (P2: a
Confluence-only option), and writes Storage as a sentence (issue #13, item 8)."""

import html
import re

import pytest
from django.urls import reverse

from backups.forms import PolicyCreateForm
from backups.models import BackupPolicy, Product

pytestmark = pytest.mark.django_db


def text(fragment: bytes) -> str:
    fragment = re.sub(r"<[^>]+>", " ", fragment.decode())
    return re.sub(r"\s+", " ", html.unescape(fragment)).strip()


@pytest.fixture
def initech(make_org, client):
    org, admin = make_org("initech")
    client.force_login(admin)
    return org


def create_page(client):
    return client.get(reverse("policy_create", args=["initech"])).content


def test_only_jira_products_to_choose_no_personal_spaces_box(client, initech):
    Product.objects.create(organization=initech, kind="jira", name="Initech Jira")
    Product.objects.create(organization=initech, kind="jira", name="Initech Jira 2")
    page = create_page(client)
    assert 'name="include_personal_spaces"' not in page.decode()
    assert "personal spaces" not in text(page)


def test_a_confluence_product_alone_gets_the_box_without_the_jira_caveat(client, initech):
    Product.objects.create(organization=initech, kind="confluence", name="Initech Wiki")
    words = text(create_page(client))
    assert "Include personal spaces Users' personal spaces are backed up too." in words
    assert "Confluence only" not in words
    assert "Ignored for a Jira product" not in words


def test_a_form_sent_back_for_a_jira_product_has_no_box(client, initech):
    jira = Product.objects.create(organization=initech, kind="jira", name="Initech Jira")
    Product.objects.create(organization=initech, kind="confluence", name="Initech Wiki")
    BackupPolicy.objects.create(product=jira)  # another admin was faster: the form comes back
    response = client.post(
        reverse("policy_create", args=["initech"]),
        {"product": jira.pk, "include_personal_spaces": "on"},
    )
    assert response.status_code == 200
    assert "Initech Jira already has a backup policy." in text(response.content)
    assert 'name="include_personal_spaces"' not in response.content.decode()


def test_a_chosen_jira_product_hides_the_box_a_mixed_list_keeps_it_marked(initech):
    jira = Product.objects.create(organization=initech, kind="jira", name="Initech Jira")
    Product.objects.create(organization=initech, kind="confluence", name="Initech Wiki")
    mixed = PolicyCreateForm(organization=initech)
    assert mixed.fields["include_personal_spaces"].label == (
        "Include personal spaces (Confluence only)"
    )
    chosen = PolicyCreateForm(organization=initech, initial={"product": jira.pk})
    assert "include_personal_spaces" not in chosen.fields


def test_storage_reads_as_a_sentence_not_an_input(client, initech):
    Product.objects.create(organization=initech, kind="jira", name="Initech Jira")
    page = create_page(client).decode()
    storage = re.search(r'<div class="field" id="storage">.*?</div>', page, re.S).group(0)
    assert "<input" not in storage and "<select" not in storage
    assert "storage-choice" not in storage  # the boxed look of an input
    assert "Backups are stored in this service's storage and kept there for 14 days." in text(
        storage.encode()
    )


def test_a_jira_product_named_in_the_link_gets_no_box_in_a_mixed_list(client, initech):
    """P2: "Create backup policy" for one product (?product=) preselects it."""
    jira = Product.objects.create(organization=initech, kind="jira", name="Initech Jira")
    wiki = Product.objects.create(organization=initech, kind="confluence", name="Initech Wiki")
    url = reverse("policy_create", args=["initech"])
    page = client.get(url, {"product": jira.pk}).content.decode()
    assert 'name="include_personal_spaces"' not in page
    assert f'<option value="{jira.pk}" selected>' in page
    page = client.get(url, {"product": wiki.pk}).content.decode()
    assert 'name="include_personal_spaces"' in page
