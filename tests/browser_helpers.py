"""What the Playwright tests share: signing in through the login form, and collecting the
CSP violations Chromium reports on the console."""

from playwright.sync_api import expect

DEMO_PASSWORD = "demo12345"


def sign_in(page, base_url: str, username: str, password: str = DEMO_PASSWORD) -> None:
    page.goto(f"{base_url}/accounts/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(f"{base_url}/")


def watch_csp(page) -> list[str]:
    """The CSP violations reported on `page` from now on (the list fills as they come)."""
    violations: list[str] = []
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    return violations
