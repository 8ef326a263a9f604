"""Reading raw referral signals: host names, app URIs and landing-URL query parameters.

Everything here is deliberately forgiving about spelling (case, ports, trailing dots, user info)
and strict about meaning: a host matches a rule only when it equals the rule's host or is a
subdomain of it, label by label, so `notchatgpt.com` and `chatgpt.com.evil.example` never pass
for ChatGPT. No regular expressions: a referrer is split once and looked up label suffix by label
suffix in a dict.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from collections.abc import Mapping
from urllib.parse import parse_qsl, urlsplit

from registry_service.referral.rules import Verdict

_APP_SCHEMES = ("android-app://", "ios-app://")
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789-_")


def is_app_uri(value: str) -> bool:
    """True for android-app:// and ios-app:// URIs, in any letter case."""
    return value[:14].lower().startswith(_APP_SCHEMES)


def app_key(value: str) -> str:
    """`android-app://com.openai.chatgpt/https/...` -> `android-app://com.openai.chatgpt`."""
    scheme, _, rest = value.strip().partition("://")
    package = rest.split("/", 1)[0].split("?", 1)[0]
    return f"{scheme.lower()}://{package.lower()}"


def normalise_host(host: str) -> str | None:
    """Lowercase host without trailing dots; None when it is not a host name or IP literal."""
    host = host.lower().rstrip(".")
    if not host:
        return None
    if ":" in host or host.replace(".", "").isdigit():
        try:
            ipaddress.ip_address(host)
        except ValueError:
            return None
        return host
    labels = host.split(".")
    for label in labels:
        if not label or len(label) > 63 or not _HOST_CHARS.issuperset(label):
            return None
    return host


normalise_cached = functools.lru_cache(maxsize=4096)(normalise_host)
"""normalise_host() remembered for the host names seen lately: referrer and landing hosts are
few (search engines, assistants, the site's own), unlike the URLs around them."""


def url_host(url: str) -> str | None:
    """The normalised host of an absolute http(s) URL, or None when it has none or is junk."""
    try:
        parts = urlsplit(url.strip())
        hostname = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not hostname:
        return None
    return normalise_host(hostname)


_NETLOC_END = re.compile(r"[/?#]")


def split_web(url: str) -> tuple[str, str] | None:
    """``(host, query)`` of an http(s) URL exactly as ``urlsplit`` reads them, without it.

    ``host`` is the raw host of the netloc (after the last ``@``, before a ``:``), ``""``
    when there is none: ``normalise_host(host)`` is ``url_host(url)`` and ``query`` is
    ``urlsplit(url).query``. Only for the URLs whose reading is plain: ``url`` already
    stripped, ASCII (no non-ASCII netloc, which urlsplit checks) without a tab or line break
    (which urlsplit deletes anywhere), a scheme that is ``http`` or ``https`` in any case
    followed by ``//``, and no bracket in the netloc (IPv6 literals, which urlsplit
    validates). Anything else gives None: the caller uses urlsplit. tests/referral/test_split_web.py holds it to
    urlsplit on generated adversarial URLs.
    """
    if not url.isascii() or "\t" in url or "\n" in url or "\r" in url:
        return None
    head = url[:8].lower()
    if head == "https://":
        start = 8
    elif head[:7] == "http://":
        start = 7
    else:
        return None
    # urlsplit: the netloc runs to the first '/', '?' or '#'; then the fragment is cut at
    # the first '#' and the query is what follows the first '?' before it.
    found = _NETLOC_END.search(url, start)
    if found is None:
        netloc, rest = url[start:], ""
    else:
        end = found.start()
        netloc, rest = url[start:end], url[end:]
    if "[" in netloc or "]" in netloc:
        return None
    query = rest.partition("#")[0].partition("?")[2] if rest else ""
    host = netloc.rpartition("@")[2].partition(":")[0]
    return host, query


def web_host(url: str) -> str | None:
    """``url_host(url)``, reading plain http(s) URLs without urlsplit (see split_web)."""
    stripped = url.strip()
    parts = split_web(stripped)
    if parts is None:
        return url_host(stripped)
    host = parts[0]
    return normalise_cached(host) if host else None


def parse_query(query: str) -> dict[str, str]:
    """``{name.lower(): value}`` of ``parse_qsl(query)`` (first value of a name wins).

    Without a ``%`` in the query, unquoting changes nothing and parse_qsl is: split on
    ``&``, skip a field without ``=`` or with an empty value, ``+`` becomes a space.
    """
    params: dict[str, str] = {}
    if "%" in query:
        for name, value in parse_qsl(query, keep_blank_values=False):
            params.setdefault(name.lower(), value)
        return params
    for field in query.split("&"):
        name, _, value = field.partition("=")
        if value:  # no '=' or nothing after it: parse_qsl skips the field
            key = name.replace("+", " ").lower()
            if key not in params:
                params[key] = value.replace("+", " ")
    return params


def lookup_host(host: str, table: Mapping[str, Verdict]) -> Verdict | None:
    """The verdict of the most specific rule host that `host` equals or is a subdomain of."""
    if host in table:
        return table[host]
    index = host.find(".")
    while index != -1:
        suffix = host[index + 1 :]
        if suffix in table:
            return table[suffix]
        index = host.find(".", index + 1)
    return None


def query_params(url: str | None) -> dict[str, str]:
    """Query parameters of a URL with lowercased names (first value wins), {} for junk."""
    if not url:
        return {}
    try:
        query = urlsplit(url.strip()).query
    except ValueError:
        return {}
    params: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=False):
        params.setdefault(name.lower(), value)
    return params
