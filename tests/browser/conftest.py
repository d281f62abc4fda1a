"""Playwright against the live server, in Debian's Chromium (/usr/bin/chromium, no browser
download). Playwright's sync API runs an event loop in this thread, so Django's guard
against ORM calls from async contexts is lifted for these tests only."""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from django.contrib.auth.hashers import make_password

from tests import factories

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
# The screenshots in docs/screens are rewritten only on request (`UPDATE_SCREENS=1 make test`);
# otherwise they go to a scratch folder, so a test run leaves the checkout as it was.
SCREENS = (Path(__file__).resolve().parents[2] / "docs" / "screens" if os.environ.get("UPDATE_SCREENS")
           else Path(tempfile.gettempdir()) / "omnichannel-screens")
PASSWORD = "floor-pass-123"


def _missing() -> str:
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (pip install playwright; CI installs it)"
    if not (os.path.exists(CHROMIUM) or shutil.which("chromium")):
        return f"Debian's Chromium is not installed at {CHROMIUM} (apt-get install chromium; CI installs it)"
    return ""


@pytest.fixture(scope="session")
def browser():
    reason = _missing()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(viewport={"width": 360, "height": 740}, base_url=live_server.url,
                                  device_scale_factor=1, is_mobile=True, has_touch=True)
    context.set_default_timeout(15_000)
    tab = context.new_page()
    yield tab
    context.close()


def staff(username: str, location, role: str = "picker") -> None:
    member = factories.StaffFactory(user__username=username, role=role, location=location)
    member.user.password = make_password(PASSWORD)
    member.user.save(update_fields=["password"])


def login(page, username: str, landing: str = "**/wms/") -> None:
    page.goto("/wms/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(landing)


def scan(page, code: str) -> None:
    """What a scanner does: type into the focused scan input and press Enter."""
    field = page.locator("input.scan")
    assert field.evaluate("el => el === document.activeElement"), "the scan input has the focus"
    field.fill(code)
    with page.expect_navigation():
        field.press("Enter")


def error_text(page) -> str:
    return page.locator("#error").inner_text() if page.locator("#error").count() else ""


def shot(page, name: str) -> None:
    SCREENS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENS / f"{name}.png"), full_page=True)
