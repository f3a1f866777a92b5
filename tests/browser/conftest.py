"""Browser tests: Playwright's sync API driving the system Chromium against live_server.

    @pytest.mark.browser
    def test_something(page, live_server, demo):
        login(page, live_server, "alice")
        ...

`browser` is one Chromium for the whole session; `page` is a fresh context (own cookies)
per test. Browser tests use a transactional database (live_server serves from another
thread); the `demo` fixture below asks for it before seeding.

Every page of every browser test is also a Content-Security-Policy check: `page` records each
violation the browser reports (the `securitypolicyviolation` event, and Chromium's console
message for it) and fails the test if there was any.
"""

import os

import pytest

from tests.components import CHROMIUM, need_chromium

# The sync API runs an asyncio event loop in this thread; Django would then refuse the ORM
# calls that fixtures and assertions make here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="session")
def browser():
    need_chromium()
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
    except Exception:
        playwright.stop()
        raise
    yield chromium
    chromium.close()
    playwright.stop()


# Runs in every document before its own scripts: report each CSP violation to the test.
REPORT_CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  const text =
    `${event.effectiveDirective} blocked ${event.blockedURI || "inline code"}` +
    ` in ${event.sourceFile || event.documentURI}:${event.lineNumber}` +
    (event.sample ? ` (${event.sample})` : "");
  window.__cspViolations.push(text);
  window.__reportCspViolation(text);
});
"""


@pytest.fixture
def csp_violations():
    """The CSP violations the browser reported during the test, as text (see `page`)."""
    return []


@pytest.fixture
def page(browser, csp_violations):
    """A fresh browser context and page for one test, closed afterwards.

    The test fails if any page broke the Content-Security-Policy.
    """
    context = browser.new_context(viewport=DESKTOP)
    context.set_default_timeout(10_000)
    context.expose_binding(
        "__reportCspViolation", lambda source, text: csp_violations.append(f"event: {text}")
    )
    context.add_init_script(REPORT_CSP_VIOLATIONS)

    def on_console(message):
        if "Content Security Policy" in message.text:
            csp_violations.append(f"console: {message.text}")

    context.on("console", on_console)
    page = context.new_page()
    yield page
    context.close()
    if csp_violations:
        pytest.fail(
            "The Content-Security-Policy was violated:\n" + "\n".join(csp_violations),
            pytrace=False,
        )


@pytest.fixture
def demo(transactional_db, demo):
    """The demo data, seeded in a transactional database that live_server can see."""
    return demo


def login(page, live_server, username: str, password: str | None = None) -> None:
    """Log in through the login form, as a person would, and wait for the home page."""
    from backups.demo import DEMO_PASSWORD

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password or DEMO_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/")
