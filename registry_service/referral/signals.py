"""Reading raw referral signals: host names, app URIs and landing-URL query parameters.

Everything here is deliberately forgiving about spelling (case, ports, trailing dots, user info)
and strict about meaning: a host matches a rule only when it equals the rule's host or is a
subdomain of it, label by label, so `notchatgpt.com` and `chatgpt.com.evil.example` never pass
for ChatGPT. No regular expressions: a referrer is split once and looked up label suffix by label
suffix in a dict.
"""

from __future__ import annotations

import ipaddress
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
