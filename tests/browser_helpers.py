"""What the Playwright tests share: signing in through the login form, and collecting the
CSP violations Chromium reports on the console."""

from playwright.sync_api import expect

DEMO_PASSWORD = "demo12345"

# A phone: 375 × 800, touch (a module's `browser_context_args` adds it to the defaults).
PHONE = {"viewport": {"width": 375, "height": 800}, "has_touch": True, "is_mobile": True}


def peizhuang_cadre(password: str = DEMO_PASSWORD) -> dict:
    """裴庄村 (张桥镇, 鄢陵县) and its 帮村 cadre `cadre_peizhuang`, linked for this whole
    year (which covers today)."""
    from django.utils import timezone

    from tests.factories import (
        AssignmentFactory,
        CadreFactory,
        CountyFactory,
        TownshipFactory,
        UserFactory,
        UserRoleFactory,
        VillageFactory,
    )

    county = CountyFactory(code="411024", name="鄢陵县")
    township = TownshipFactory(county=county, code="411024107", name="张桥镇")
    village = VillageFactory(township=township, code="411024107225", name="裴庄村")
    user = UserFactory(username="cadre_peizhuang", first_name="裴庄村帮扶干部")
    user.set_password(password)
    user.save()
    UserRoleFactory(user=user, role="cadre")
    person = CadreFactory(name="王帮扶", user=user)
    AssignmentFactory(cadre=person, village=village, year=timezone.localdate().year)
    return {"user": user, "cadre": person, "village": village}


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


class SwitchableLink:
    """A TCP relay in front of the live server that the test can cut, like a phone losing
    its signal. Playwright's offline emulation does not reach a service worker's own
    requests in Chromium (microsoft/playwright#2311); a cut link reaches everything."""

    def __init__(self, target_url: str):
        import socket
        import threading
        from urllib.parse import urlsplit

        target = urlsplit(target_url)
        self._target = (target.hostname, target.port)
        self._socket = socket
        self._threading = threading
        self._lock = threading.Lock()
        self._conns: list = []
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.url = f"http://127.0.0.1:{self.port}"
        self._listener = None
        self.up()

    def up(self) -> None:
        sock = self._socket.socket()
        sock.setsockopt(self._socket.SOL_SOCKET, self._socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        sock.listen(64)
        self._listener = sock
        self._threading.Thread(target=self._accept, args=(sock,), daemon=True).start()

    def down(self) -> None:
        """No signal: new connections are refused, open ones are cut."""
        listener, self._listener = self._listener, None
        if listener is not None:
            try:
                listener.shutdown(self._socket.SHUT_RDWR)
            except OSError:
                pass
            listener.close()
        with self._lock:
            conns, self._conns = self._conns, []
        for conn in conns:
            try:
                conn.shutdown(self._socket.SHUT_RDWR)
            except OSError:
                pass
            conn.close()

    def _accept(self, listener) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = self._socket.create_connection(self._target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                self._threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src, dst) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.close()
                except OSError:
                    pass
