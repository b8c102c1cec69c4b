import pytest

from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_front_page_renders_in_chromium(new_page, live_server):
    factories.conference(name="Smoke <Conf>")
    page = new_page(timezone_id="Pacific/Auckland")
    page.goto(live_server.url + "/")
    assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == "Pacific/Auckland"
    assert page.locator("header .brand").inner_text() == "Smoke <Conf>"
