# Helpers of the NixOS VM tests (tests/vm/*.nix), prepended to their test
# scripts: a browser's requests with curl and a cookie jar on the node
# `server`, forms filled in as a browser does (hidden fields such as CSRF tokens
# kept), coop-sso's invitation, TOTP and sign-in. They read the globals DOMAIN,
# LOGIN_PATH and ACCOUNT_PATH, which each test script defines.
import base64
import hashlib
import hmac
import html
import re
import shlex
import struct
import urllib.parse
from html.parser import HTMLParser


def http(jar, url, form=None, on=None):
    """One request through curl with a cookie jar, redirects not followed, on
    the node `on` (default: server). With `form`, a POST of those fields.
    Returns (status, location, body)."""
    on = on or server
    args = ["curl", "--silent", "--show-error", "--cookie", jar, "--cookie-jar", jar,
            "--output", "/tmp/body", "--write-out", "%{http_code} %{redirect_url}"]
    for name, value in (form or {}).items():
        args += ["--data-urlencode", f"{name}={value}"]
    status, _, location = on.succeed(shlex.join(args + [url])).strip().partition(" ")
    return int(status), location, on.succeed("cat /tmp/body")


def browse(jar, url, form=None, stop=lambda url: False, on=None):
    """Follow redirects as a browser does, but not to a URL for which
    stop(url) holds. Returns (url, status, body) of the last answer."""
    for _ in range(20):
        status, location, body = http(jar, url, form, on)
        form = None
        if 300 <= status < 400 and location:
            if stop(location):
                return location, status, body
            url = location
            continue
        assert status < 400, f"{url} answered {status}:\n{body}"
        return url, status, body
    raise AssertionError(f"more than 20 redirects from {url}")


class Forms(HTMLParser):
    """The forms of a page: action, method, fields with their values."""

    def __init__(self, page):
        super().__init__()
        self.forms: list[dict] = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append({"action": a.get("action", ""), "method": a.get("method", "get").lower(),
                               "fields": {}, "passwords": []})
        elif self.forms and tag in ("input", "textarea", "select") and a.get("name"):
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "image", "reset"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self.forms[-1]["fields"].setdefault(a["name"], a.get("value", ""))
            if kind == "password":
                self.forms[-1]["passwords"].append(a["name"])


def submit(jar, url, page, fill, password=None, stop=lambda url: False, on=None, action=None, extra=None):
    """Fill in the page's form that has the fields in `fill` (and, given a
    password, password fields: all get it) and submit it, keeping hidden
    fields such as a CSRF token, as a browser does. `action`: only a form
    whose action ends so; `extra`: more fields sent (a clicked button's
    name and value); `on`: the node the browser runs on (default: server)."""
    forms = [f for f in Forms(page).forms
             if all(k in f["fields"] for k in fill) and (password is None or f["passwords"])
             and (action is None or f["action"].endswith(action))]
    wanted = sorted(fill) + (["a password"] if password else [])
    assert forms, f"{url}: no form with {wanted}:\n{page}"
    form = forms[0]
    assert form["method"] == "post", f"{url}: the form is not POSTed"
    fields = dict(form["fields"], **fill, **(extra or {}))
    for name in form["passwords"]:
        fields[name] = password
    return browse(jar, urllib.parse.urljoin(url, form["action"]), fields, stop, on)


def invite_link(text):
    """An invitation link of coop-sso in a page, a mail or command output."""
    # coop-sso interface: invitation links are https://<domain>/...invite...
    # (pages escape the slashes of URLs as &#x2F;, so unescape first)
    links = re.findall(r"https://" + re.escape(DOMAIN) + r"/[^\s\"'<>]*invite[^\s\"'<>]*", html.unescape(text))
    return links[-1] if links else None


def totp(secret_b32):
    """The current RFC 6238 code (SHA-1, 30 s, 6 digits), by the server's clock."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    counter = int(server.succeed("date +%s").strip()) // 30
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = mac[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 1000000)


def accept_invitation(jar, link, who):
    """Open the invitation as the invitee and choose a password."""
    url, _, page = browse(jar, link)
    submit(jar, url, page, {}, password=who["password"])


def sign_in(jar, who):
    """Sign in on coop-sso's form; check the account page shows the member."""
    url, _, page = browse(jar, f"https://{DOMAIN}{LOGIN_PATH}")
    submit(jar, url, page, {"email": who["email"]}, password=who["password"])
    url, _, page = browse(jar, f"https://{DOMAIN}{ACCOUNT_PATH}")
    assert urllib.parse.urlparse(url).path == ACCOUNT_PATH, f"not signed in: ended on {url}"
    assert who["name"] in html.unescape(page), f"the account page does not show {who['name']}:\n{page}"
