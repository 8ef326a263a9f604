"""The classifier's URL reading without urlsplit gives exactly urlsplit's (and parse_qsl's) answers.

`split_web` reads the host and query of plain http(s) URLs on the hot path and declines
(None, so the caller uses urlsplit) for everything else; `web_host` is `url_host`;
`parse_query` is parse_qsl's first-value-wins dict. Checked on adversarial URLs: user info,
ports, IPv6 and bracketed hosts, upper case schemes and hosts, trailing dots, percent-encoding,
'+', fragments before and after queries, missing or odd schemes, controls, non-ASCII, junk.
"""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st

from registry_service.referral.signals import (
    normalise_host,
    parse_query,
    split_web,
    url_host,
    web_host,
)

PIECES = [
    "http",
    "https",
    "HTTPS",
    "HtTp",
    "ftp",
    "://",
    ":/",
    ":",
    "//",
    "/",
    "@",
    "user:pw@",
    "[",
    "]",
    "[::1]",
    "[2001:db8::1]",
    "[v1.x]",
    ":8080",
    ":x",
    "?",
    "#",
    "&",
    "=",
    "+",
    "%",
    "%20",
    "%5F",
    "%zz",
    ".",
    "..",
    "-",
    "_",
    "~",
    ";",
    " ",
    "\t",
    "\n",
    "\r",
    "\x00",
    "\x7f",
    "\u00e9",
    "\u2028",
    "\uff0e",
    "chatgpt.com",
    "Www.Google.COM",
    "app.promptflow.io",
    "203.0.113.9",
    "utm_source",
    "utm_medium",
    "gclid",
    "value",
    "a",
    "Z",
    "0",
]


@st.composite
def urls(draw: st.DrawFn) -> str:
    prefix = draw(
        st.sampled_from(
            ["https://", "http://", "HTTP://", "hTtPs://", "https:/", "https:", "//", "", " ", "x"]
        )
    )
    parts = draw(st.lists(st.sampled_from(PIECES), max_size=12))
    return prefix + "".join(parts)


def _reference(url: str) -> tuple[str, str] | None:
    """(hostname for url_host, query) as urlsplit reads the stripped URL; None on ValueError."""
    try:
        parts = urlsplit(url)
        hostname = parts.hostname
    except ValueError:
        return None
    return hostname or "", parts.query


def _check(url: str) -> None:
    stripped = url.strip()
    fast = split_web(stripped)
    assert web_host(url) == url_host(url), url
    if fast is None:
        return
    reference = _reference(stripped)
    assert reference is not None, url
    host, query = fast
    assert query == reference[1], url
    assert (normalise_host(host) if host else None) == url_host(stripped), url
    assert urlsplit(stripped).scheme in ("http", "https"), url


@settings(max_examples=5000, deadline=None)
@given(urls())
def test_split_web_reads_urls_like_urlsplit(url: str) -> None:
    _check(url)


@settings(max_examples=2000, deadline=None)
@given(st.text(max_size=40))
def test_split_web_on_arbitrary_text(text: str) -> None:
    _check(text)
    _check("https://" + text)


def test_split_web_examples() -> None:
    for url in [
        "https://app.promptflow.io/docs?utm_source=chatgpt.com&visit=1",
        "HTTPS://User:Pw@WWW.Google.COM.:443/search?q=a#frag?x=1",
        "http://example.com#a?b",
        "http://example.com?a=1#b",
        "https://[2001:db8::1]:8080/",
        "http://[::1/",
        "https://",
        "https://exa mple.com/",
        "https://%63hatgpt.com/",
        "https://chat\tgpt.com/",
        "https://chatgpt.com\u3002/",
        "  https://chatgpt.com/  ",
        "android-app://com.openai.chatgpt/",
        "//chatgpt.com/",
        "https:chatgpt.com",
    ]:
        _check(url)
    assert split_web("https://[2001:db8::1]/") is None
    assert split_web("https://chat\tgpt.com/") is None
    assert split_web("https://a.b:1/p?q=1#f") == ("a.b", "q=1")


QUERY_PIECES = [
    "utm_source",
    "UTM_Medium",
    "gclid",
    "=",
    "==",
    "&",
    "&&",
    ";",
    "+",
    "%",
    "%5F",
    "%20",
    "%zz",
    "a",
    "value",
    " ",
    "",
    "\u00e9",
]


@settings(max_examples=5000, deadline=None)
@given(st.lists(st.sampled_from(QUERY_PIECES), max_size=14).map("".join))
def test_parse_query_is_parse_qsl(query: str) -> None:
    expected: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=False):
        expected.setdefault(name.lower(), value)
    assert parse_query(query) == expected
