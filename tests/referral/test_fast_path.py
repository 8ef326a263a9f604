"""The fast path (signals + verdict cache) gives exactly the uncached classifier's answers.

`Classifier.classify` reduces its inputs to a few signals and caches verdicts by them;
`Classifier.classify_uncached` reads the decision order directly. They must agree on every
input: generated ones (rule hosts with look-alike prefixes and suffixes, case, ports, user info,
trailing dots, IP literals, UTM values in the landing URL's query (also percent-encoded and in
odd case) or explicit, click ids, app referrers, junk) and every line of the shared examples.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from registry_service.referral import Classifier
from registry_service.referral.rules import RULES_DIR, load_rules, newest_rules_file
from tests.support.shared import SHARED

EXAMPLES = SHARED / "data" / "referrals" / "examples.jsonl"
RULES = load_rules(newest_rules_file(RULES_DIR))

RULE_HOSTS = sorted(RULES.hosts)
UTM_SOURCES = sorted(RULES.utm_sources)
UTM_MEDIUMS = sorted(RULES.utm_mediums)
APP_REFERRERS = sorted(RULES.app_referrers)
CLICK_IDS = sorted(RULES.click_ids)
UTM_NAMES = ["utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"]
JUNK = [
    "",
    " ",
    "not a url",
    "chatgpt.com",
    "ftp://chatgpt.com/",
    "https://",
    "http://[::1/",
    "https://exa mple.com/",
    "https://a..b/",
    "//chatgpt.com/",
    "https://%63hatgpt.com/",
    "https://[2001:db8::1]:8080/",
    "http://203.0.113.9/",
    "https://-.com/",
    "\u2028",
    "?",
    "#",
]


def _case(draw: st.DrawFn, text: str) -> str:
    mode = draw(st.sampled_from(["same", "upper", "random"]))
    if mode == "upper":
        return text.upper()
    if mode == "random":
        flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
        return "".join(c.upper() if f else c for c, f in zip(text, flips, strict=True))
    return text


@st.composite
def hosts(draw: st.DrawFn) -> str:
    base = draw(st.sampled_from([*RULE_HOSTS, "example.com", "staging.example.dev", "a.b"]))
    shape = draw(st.sampled_from(["exact", "sub", "prefix", "suffix", "evil", "random"]))
    if shape == "sub":
        base = f"{draw(st.sampled_from(['www', 'm', 'eu', 'x-y']))}.{base}"
    elif shape == "prefix":
        base = f"not{base}"
    elif shape == "suffix":
        base = f"{base}{draw(st.sampled_from(['x', '.evil.example', '.attacker.io', '-']))}"
    elif shape == "evil":
        base = f"{base}.{draw(st.sampled_from(['evil.example', 'com', 'co']))}"
    elif shape == "random":
        base = draw(st.from_regex(r"[a-z0-9.\-_]{1,20}", fullmatch=True))
    if draw(st.booleans()):
        base += "."
    return _case(draw, base)


@st.composite
def web_urls(draw: st.DrawFn, host: str | None = None) -> str:
    scheme = _case(draw, draw(st.sampled_from(["https", "http", "ftp"])))
    userinfo = draw(st.sampled_from(["", "", "user:pw@", "u@"]))
    port = draw(st.sampled_from(["", "", ":443", ":8080", ":x"]))
    path = draw(st.sampled_from(["/", "", "/c/1234", "/search?q=promptflow", "/a#frag"]))
    return f"{scheme}://{userinfo}{host or draw(hosts())}{port}{path}"


@st.composite
def app_uris(draw: st.DrawFn) -> str:
    base = draw(
        st.sampled_from(
            [
                *APP_REFERRERS,
                "android-app://com.example.unknown",
                "ios-app://123",
                "android-app://com.openai.chatgptx",
            ]
        )
    )
    tail = draw(st.sampled_from(["", "/https/chatgpt.com/", "?x=1", "/"]))
    pad = draw(st.sampled_from(["", " "]))
    return pad + _case(draw, base) + tail


@st.composite
def queries(draw: st.DrawFn) -> str:
    pairs = []
    for _ in range(draw(st.integers(0, 5))):
        name = draw(st.sampled_from([*UTM_NAMES, *CLICK_IDS, "q", "ref", "visit", "utm_x"]))
        spelling = draw(st.sampled_from(["plain", "case", "encoded", "plus", "bare"]))
        if spelling == "case":
            name = _case(draw, name)
        elif spelling == "encoded":
            name = quote(name, safe="").replace("_", "%5F")
        elif spelling == "plus":
            name = name + "+"
        value = draw(
            st.sampled_from(
                [
                    *UTM_SOURCES,
                    *UTM_MEDIUMS,
                    "",
                    " ",
                    "x",
                    "www.perplexity.ai",
                    "Perplexity.AI",
                    "%20chatgpt",
                    "spring+launch",
                    "a%zz",
                ]
            )
        )
        pairs.append(name if spelling == "bare" else f"{name}={_case(draw, value)}")
    sep = draw(st.sampled_from(["&", "&", ";", "&&"]))
    return sep.join(pairs)


@st.composite
def page_urls(draw: st.DrawFn) -> str | None:
    kind = draw(st.sampled_from(["site", "site", "other", "junk", "none"]))
    if kind == "none":
        return None
    if kind == "junk":
        return draw(st.sampled_from(JUNK))
    host = "app.promptflow.io" if kind == "site" else draw(hosts())
    url: str = draw(web_urls(host=host))
    query = draw(queries())
    if query:
        url += ("&" if "?" in url else "?") + query
    return url


@st.composite
def inputs(draw: st.DrawFn) -> dict[str, Any]:
    page_url = draw(page_urls())
    referrer_kind = draw(st.sampled_from(["web", "web", "same", "app", "junk", "none"]))
    referrer: str | None = None
    if referrer_kind == "web":
        referrer = draw(web_urls())
    elif referrer_kind == "same" and page_url:
        referrer = page_url.split("?")[0] + "x"
    elif referrer_kind == "app":
        referrer = draw(app_uris())
    elif referrer_kind == "junk":
        referrer = draw(st.sampled_from(JUNK))
    utm = draw(
        st.none()
        | st.dictionaries(
            st.sampled_from(UTM_NAMES),
            st.sampled_from(
                [
                    *UTM_SOURCES,
                    *UTM_MEDIUMS,
                    "",
                    "  ",
                    "Spring_Launch",
                    " www.Claude.ai ",
                    "chatgpt.com.",
                ]
            ),
            max_size=3,
        )
    )
    app_referrer = draw(st.none() | app_uris() | st.sampled_from(["", "not an app", "https://x/"]))
    click_ids = draw(
        st.none()
        | st.dictionaries(
            st.sampled_from([*CLICK_IDS, "GCLID", "other"]),
            st.sampled_from(["", "abc"]),
            max_size=2,
        )
    )
    return {
        "page_url": page_url,
        "referrer": referrer,
        "utm": utm,
        "app_referrer": app_referrer,
        "click_ids": click_ids,
    }


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return Classifier(RULES_DIR, cache_size=64)  # small: evictions happen during the run


@settings(max_examples=3000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(inputs())
def test_fast_path_agrees_with_the_uncached_classifier(
    classifier: Classifier, kwargs: dict[str, Any]
) -> None:
    expected = classifier.classify_uncached(**kwargs)
    assert classifier.classify(**kwargs) == expected, kwargs
    assert classifier.classify(**kwargs) == expected, kwargs  # again, from the cache


def test_shared_examples_agree(classifier: Classifier) -> None:
    with EXAMPLES.open(encoding="utf-8") as lines:
        examples = [json.loads(line) for line in lines if line.strip()]
    assert len(examples) >= 24
    for example in examples:
        kwargs = {"page_url": example["page_url"], "referrer": example["referrer"]}
        expected = classifier.classify_uncached(**kwargs)
        assert (expected.channel, expected.ai_platform) == (
            example["channel"],
            example["ai_platform"],
        )
        for _ in range(2):
            assert classifier.classify(**kwargs) == expected, example


def test_unique_landing_urls_with_common_signals_hit_the_cache() -> None:
    classifier = Classifier(RULES_DIR)
    base = "https://app.promptflow.io/docs/{}?utm_source=chatgpt.com&visit={}"
    for i in range(200):
        result = classifier.classify(
            page_url=base.format(i, i), referrer=f"https://www.google.com/search?q={i}"
        )
        assert (result.channel, result.ai_platform, result.conflict) == (
            "ai_assistant",
            "chatgpt",
            True,
        )
    info = classifier.cache_info()
    assert (info.misses, info.hits) == (1, 199)


def test_reloaded_rules_start_an_empty_cache(tmp_path: Path) -> None:
    rules = json.loads((RULES_DIR / "1.0.0.json").read_text(encoding="utf-8"))
    (tmp_path / "1.0.0.json").write_text(json.dumps(rules), encoding="utf-8")
    classifier = Classifier(tmp_path, check_interval=0)
    assert classifier.classify(referrer="https://newai.example/").channel == "referral"
    rules["version"] = "1.1.0"
    rules["ai_platforms"]["chatgpt"]["hosts"].append("newai.example")
    (tmp_path / "1.1.0.json").write_text(json.dumps(rules), encoding="utf-8")
    assert classifier.classify(referrer="https://newai.example/").ai_platform == "chatgpt"
    assert classifier.cache_info().misses == 1
