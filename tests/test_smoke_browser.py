import pytest
from django.urls import reverse

from tests import factories

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_front_page_renders_in_chromium(new_page, live_server):
    factories.conference(name="Smoke <Conf>")
    page = new_page(timezone_id="Pacific/Auckland")
    page.goto(live_server.url + "/")
    # The front page is for people who logged in: the browser is sent to the login form first.
    assert page.url == f"{live_server.url}{reverse('login')}?next=/"
    factories.browser_login(page, live_server, "ada@example.org", "ADA-7cq3-93kd")
    assert page.url == live_server.url + reverse("now")
    assert page.evaluate("Intl.DateTimeFormat().resolvedOptions().timeZone") == "Pacific/Auckland"
    assert page.locator("header .brand").inner_text() == "Smoke <Conf>"
    assert page.locator("h1").count() == 1
