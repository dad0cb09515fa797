"""Browser-less login driver (Python twin of login-driver.mjs; keep the two in step).

From an authorization URL, follow redirects with a cookie jar; on each HTML page with a
form, fill the input named email/login/username with the user and the password input with
the password, keep hidden inputs (csrf_token, ...), include the first submit button's
name/value, and submit it (method and action from the form, resolved against the page URL).
A form without a password field (consent/confirm page) is submitted as is. A page with no
form but a link to the redirect URI (a "continue" page) follows that link. Stops when sent
to a URL that starts with redirect_uri and returns that URL. Bounded in steps and time.
"""

from __future__ import annotations

import http.cookiejar
import re
import time
import urllib.request
from html.parser import HTMLParser
from urllib.parse import urlencode, urljoin, urlsplit, urlunsplit

import requests
from requests.cookies import extract_cookies_to_jar

USER_FIELDS = {"email", "login", "username"}
LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}


class LoopbackCookiePolicy(http.cookiejar.DefaultCookiePolicy):
    """Send Secure cookies over http on loopback, as browsers do for localhost."""

    def return_ok_secure(self, cookie, request):
        if urlsplit(request.get_full_url()).hostname in LOOPBACK:
            return True
        return super().return_ok_secure(cookie, request)


def new_jar() -> http.cookiejar.CookieJar:
    """A fresh browser's cookie jar. (Not a requests.Session: Session merges cookies into a
    jar with the default policy, which drops Secure cookies on http.)"""
    return http.cookiejar.CookieJar(policy=LoopbackCookiePolicy())


class _Forms(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self.links: list[str] = []
        self._current: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = {k.lower(): (v if v is not None else "") for k, v in attrs}
        if tag == "form":
            self._current = {**a, "inputs": [], "buttons": []}
            self.forms.append(self._current)
        elif tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag in ("input", "button") and self._current is not None:
            kind = a.get("type", "submit" if tag == "button" else "text").lower()
            if kind in ("submit", "image"):
                self._current["buttons"].append(a)
            elif tag == "input":
                self._current["inputs"].append({**a, "type": kind})

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None


def parse_forms(html: str) -> tuple[list[dict], list[str]]:
    p = _Forms()
    p.feed(html)
    p.close()
    return p.forms, p.links


def _fill(form: dict, user: str, password: str) -> list[tuple[str, str]]:
    fields = []
    for i in form["inputs"]:
        name = i.get("name")
        if not name or "disabled" in i:
            continue
        if i["type"] == "password":
            fields.append((name, password))
        elif name.lower() in USER_FIELDS:
            fields.append((name, user))
        elif i["type"] in ("checkbox", "radio") and "checked" not in i:
            continue
        else:
            fields.append((name, i.get("value", "")))
    if form["buttons"] and form["buttons"][0].get("name"):
        b = form["buttons"][0]
        fields.append((b["name"], b.get("value", "")))
    return fields


def _text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]*>", " ", html)).strip()[:300]


def drive_login(start_url: str, redirect_uri: str, user: str, password: str,
                jar: http.cookiejar.CookieJar | None = None, max_steps: int = 25,
                timeout_s: float = 30.0, log=None) -> str:
    """Returns the URL (starting with redirect_uri) the provider sent the browser to."""
    jar = jar if jar is not None else new_jar()
    deadline = time.monotonic() + timeout_s
    url, method, data = start_url, "GET", None
    password_forms = 0
    for _ in range(max_steps):
        if url.startswith(redirect_uri):
            return url
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        if log:
            log(f"{method} {url}")
        headers = {"Accept": "text/html,application/xhtml+xml"}
        probe = urllib.request.Request(url)
        jar.add_cookie_header(probe)
        if probe.has_header("Cookie"):
            headers["Cookie"] = probe.get_header("Cookie")
        r = requests.request(method, url, data=data, headers=headers, allow_redirects=False,
                             timeout=min(remaining, 10))
        extract_cookies_to_jar(jar, r.request, r.raw)
        location = r.headers.get("Location")
        if 300 <= r.status_code < 400 and location:
            if r.status_code not in (307, 308):
                method, data = "GET", None
            url = urljoin(url, location)
            continue
        if r.status_code >= 400:
            raise RuntimeError(f"HTTP {r.status_code} at {url}: {_text(r.text)}")
        forms, links = parse_forms(r.text)
        form = next((f for f in forms if any(i["type"] == "password" for i in f["inputs"])),
                    forms[0] if forms else None)
        if form is None:
            for href in links:
                target = urljoin(url, href)
                if target.startswith(redirect_uri):
                    return target
            raise RuntimeError(f"no form and no redirect at {url} (HTTP {r.status_code}): {_text(r.text)}")
        if any(i["type"] == "password" for i in form["inputs"]):
            password_forms += 1
            if password_forms > 1:
                raise RuntimeError(f"login form shown again at {url}: credentials rejected?")
        fields = _fill(form, user, password)
        target = urljoin(url, form.get("action") or url)
        if form.get("method", "get").lower() == "post":
            method, data, url = "POST", fields, target
        else:
            parts = urlsplit(target)
            method, data, url = "GET", None, urlunsplit(parts._replace(query=urlencode(fields)))
    raise RuntimeError(f"login did not reach {redirect_uri} within {max_steps} steps / {timeout_s} s (last URL {url})")
