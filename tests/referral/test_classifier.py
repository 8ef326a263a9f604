"""Referral classification: the shared labelled examples, then the edge cases they miss."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from registry_service.referral import Classification, Classifier, default_classifier
from tests.support.shared import SHARED

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = SHARED / "data" / "referrals" / "examples.jsonl"


def _examples() -> list[dict[str, object]]:
    with EXAMPLES.open(encoding="utf-8") as lines:
        return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture(scope="module")
def classifier() -> Classifier:
    return default_classifier()


def test_examples_file_is_there() -> None:
    assert len(_examples()) >= 24


@pytest.mark.parametrize("example", _examples(), ids=lambda e: f"{e['referrer']}|{e['page_url']}")
def test_shared_examples(classifier: Classifier, example: dict[str, str | None]) -> None:
    result = classifier.classify(page_url=example["page_url"], referrer=example["referrer"])
    assert (result.channel, result.ai_platform) == (example["channel"], example["ai_platform"])


def ref(
    classifier: Classifier, referrer: str | None, page_url: str = "https://app.promptflow.io/"
) -> Classification:
    return classifier.classify(page_url=page_url, referrer=referrer)


@pytest.mark.parametrize(
    ("referrer", "platform"),
    [
        ("https://chatgpt.com/", "chatgpt"),
        ("https://CHATGPT.COM/", "chatgpt"),
        ("HTTPS://ChatGPT.com/c/1", "chatgpt"),
        ("https://chatgpt.com./", "chatgpt"),  # trailing dot of a fully qualified name
        ("https://chatgpt.com:443/", "chatgpt"),
        ("https://user:pw@chatgpt.com/", "chatgpt"),
        ("https://eu.chatgpt.com/", "chatgpt"),
        ("https://chat.openai.com/", "chatgpt"),
        ("https://claude.ai/new", "claude"),
        ("https://gemini.google.com/app", "gemini"),
        ("https://bard.google.com/", "gemini"),
        ("https://perplexity.ai/", "perplexity"),
        ("https://www.perplexity.ai/search/x", "perplexity"),
        ("https://copilot.microsoft.com/", "copilot"),
        ("https://chat.deepseek.com/", "deepseek"),
        ("https://grok.com/", "grok"),
        ("https://chat.mistral.ai/chat", "mistral"),
        ("https://www.meta.ai/", "meta_ai"),
    ],
)
def test_ai_referrer_hosts(classifier: Classifier, referrer: str, platform: str) -> None:
    assert ref(classifier, referrer) == Classification("ai_assistant", platform, "referrer", False)


@pytest.mark.parametrize(
    "referrer",
    [
        "https://notchatgpt.com/",
        "https://chatgpt.com.evil.example/",
        "https://chatgpt.co/",
        "https://xclaude.ai/",
        "https://claude.ai.example.net/",
        "https://openai.com.attacker.io/",
        "https://google.com.evil.example/",
        "https://mygemini.google.co/",
    ],
)
def test_lookalike_hosts_are_plain_referrals(classifier: Classifier, referrer: str) -> None:
    assert ref(classifier, referrer) == Classification("referral", None, "referrer", False)


def test_most_specific_host_wins(classifier: Classifier) -> None:
    # gemini.google.com is an AI assistant although google.com is a search engine
    assert ref(classifier, "https://gemini.google.com/").ai_platform == "gemini"
    assert ref(classifier, "https://www.google.com/").channel == "search"
    assert ref(classifier, "https://mail.google.com/mail/u/0").channel == "email"


@pytest.mark.parametrize(
    "referrer",
    [
        "not a url",
        "chatgpt.com",
        "ftp://chatgpt.com/",
        "https://",
        "http://[::1/",
        "https://exa mple.com/",
        "https://a..b/",
    ],
)
def test_unreadable_referrers_are_unknown(classifier: Classifier, referrer: str) -> None:
    assert ref(classifier, referrer) == Classification("unknown", None, "referrer", False)


def test_empty_referrer_is_no_referrer(classifier: Classifier) -> None:
    assert ref(classifier, "") == Classification("direct", None, "none", False)
    assert ref(classifier, "   ") == Classification("direct", None, "none", False)
    assert classifier.classify() == Classification("direct", None, "none", False)


def test_ip_literal_referrer_is_referral(classifier: Classifier) -> None:
    assert ref(classifier, "http://203.0.113.9:8080/x").channel == "referral"
    assert ref(classifier, "http://[2001:db8::1]/").channel == "referral"


def test_internal_hosts_and_the_page_host(classifier: Classifier) -> None:
    assert ref(classifier, "https://promptflow.io/").channel == "internal"
    assert ref(classifier, "https://docs.PROMPTFLOW.io/x").channel == "internal"
    assert ref(classifier, "https://notpromptflow.io/").channel == "referral"
    # a host of the site missing from the rules still counts as internal when it is the page's own
    assert (
        ref(classifier, "https://staging.example.dev/a", "https://staging.example.dev/b").channel
        == "internal"
    )


@pytest.mark.parametrize(
    ("app", "platform"),
    [
        ("android-app://com.openai.chatgpt", "chatgpt"),
        ("ios-app://6448311069", "chatgpt"),
        ("android-app://com.anthropic.claude", "claude"),
        ("ios-app://6736252404", "claude"),
        ("ios-app://com.anthropic.claude", "claude"),
        ("android-app://com.google.android.apps.bard", "gemini"),
        ("ANDROID-APP://com.openai.chatgpt/https/chatgpt.com/", "chatgpt"),
    ],
)
def test_app_referrers(classifier: Classifier, app: str, platform: str) -> None:
    expected = Classification("ai_assistant", platform, "app_referrer", False)
    assert classifier.classify(app_referrer=app) == expected
    assert ref(classifier, app) == expected  # Android puts the app URI into document.referrer


def test_other_app_referrers(classifier: Classifier) -> None:
    search_app = "android-app://com.google.android.googlequicksearchbox/https/www.google.com"
    assert classifier.classify(app_referrer=search_app).channel == "search"
    assert classifier.classify(app_referrer="android-app://com.example.unknown") == Classification(
        "referral", None, "app_referrer", False
    )
    assert (
        classifier.classify(app_referrer="android-app://com.openai.chatgptx").channel == "referral"
    )
    # an unknown app yields to a recognised web referrer
    assert classifier.classify(
        app_referrer="android-app://com.example.browser", referrer="https://claude.ai/"
    ) == Classification("ai_assistant", "claude", "referrer", False)


@pytest.mark.parametrize(
    "source", ["chatgpt.com", "chatgpt", "openai", "ChatGPT", " chatgpt.com ", "www.chatgpt.com"]
)
def test_chatgpt_utm_sources(classifier: Classifier, source: str) -> None:
    result = classifier.classify(utm={"utm_source": source})
    assert result == Classification("ai_assistant", "chatgpt", "utm", False)


def test_utm_beats_referrer_and_flags_the_conflict(classifier: Classifier) -> None:
    result = classifier.classify(utm={"utm_source": "perplexity"}, referrer="https://chatgpt.com/")
    assert result == Classification("ai_assistant", "perplexity", "utm", True)
    agree = classifier.classify(utm={"utm_source": "chatgpt.com"}, referrer="https://chatgpt.com/")
    assert agree.conflict is False
    mail = classifier.classify(
        utm={"utm_source": "newsletter", "utm_medium": "email"}, referrer="https://chatgpt.com/"
    )
    assert mail == Classification("email", None, "utm", True)


def test_no_conflict_with_internal_or_unreadable_referrers(classifier: Classifier) -> None:
    later_in_session = classifier.classify(
        page_url="https://app.promptflow.io/?utm_source=chatgpt.com",
        referrer="https://app.promptflow.io/pricing",
    )
    assert later_in_session == Classification("ai_assistant", "chatgpt", "utm", False)
    junk = classifier.classify(utm={"utm_source": "claude"}, referrer="junk")
    assert junk == Classification("ai_assistant", "claude", "utm", False)


def test_paid_utm_from_search_is_not_a_conflict(classifier: Classifier) -> None:
    result = classifier.classify(
        utm={"utm_source": "google", "utm_medium": "cpc"}, referrer="https://www.google.com/"
    )
    assert result == Classification("paid", None, "utm", False)
    social = classifier.classify(
        utm={"utm_source": "facebook", "utm_medium": "paid_social"},
        referrer="https://m.facebook.com/",
    )
    assert social == Classification("paid", None, "utm", False)


def test_unrecognised_utm_source_does_not_beat_the_referrer(classifier: Classifier) -> None:
    result = classifier.classify(utm={"utm_source": "spring_launch"}, referrer="https://claude.ai/")
    assert result == Classification("ai_assistant", "claude", "referrer", False)
    alone = classifier.classify(utm={"utm_source": "spring_launch"})
    assert alone == Classification("referral", None, "utm", False)
    internal = classifier.classify(utm={"utm_campaign": "x"}, referrer="https://app.promptflow.io/")
    assert internal == Classification("referral", None, "utm", False)


@pytest.mark.parametrize(
    "click", ["gclid", "gbraid", "wbraid", "fbclid", "msclkid", "ttclid", "li_fat_id", "twclid"]
)
def test_click_ids_are_paid(classifier: Classifier, click: str) -> None:
    from_url = classifier.classify(
        page_url=f"https://app.promptflow.io/?{click}=abc", referrer="https://www.google.com/"
    )
    assert from_url == Classification("paid", None, "click_id", False)
    explicit = classifier.classify(click_ids={click: "abc"})
    assert explicit == Classification("paid", None, "click_id", False)


def test_recognised_ai_utm_beats_click_id(classifier: Classifier) -> None:
    result = classifier.classify(
        page_url="https://app.promptflow.io/?utm_source=chatgpt.com&gclid=x"
    )
    assert result == Classification("ai_assistant", "chatgpt", "utm", False)


def test_explicit_utm_overrides_the_landing_url(classifier: Classifier) -> None:
    result = classifier.classify(
        page_url="https://app.promptflow.io/?utm_source=claude", utm={"utm_source": "gemini"}
    )
    assert result.ai_platform == "gemini"


@pytest.mark.parametrize(
    ("medium", "channel"),
    [
        ("email", "email"),
        ("EMAIL", "email"),
        ("cpc", "paid"),
        ("social", "social"),
        ("organic", "search"),
        ("referral", "referral"),
    ],
)
def test_utm_mediums(classifier: Classifier, medium: str, channel: str) -> None:
    assert (
        classifier.classify(utm={"utm_source": "somewhere", "utm_medium": medium}).channel
        == channel
    )


def test_classification_json_matches_the_contract() -> None:
    import jsonschema

    schema = json.loads((REPO / "contracts/common/referral/1.0.0.json").read_text())
    definition = schema["$defs"]["classification"]
    for example in _examples():
        result = default_classifier().classify(
            page_url=example["page_url"], referrer=example["referrer"]
        )
        jsonschema.validate(result.to_json(), definition)
