"""Acquisition channels of the simulated population: how often each brings a new user, how
well its users convert and come back, and the referral signals its visits carry.

The signals are what the real sources send (docs/referral-classification.md,
contracts/referral_rules/1.0.0.json): ChatGPT links carry `utm_source=chatgpt.com` (with or
without a `chatgpt.com` referrer; the desktop app strips it), Claude, Gemini, Copilot and
Perplexity mostly send only a referrer, search engines a bare referrer, newsletters UTM
parameters, direct visits nothing. A few ChatGPT links arrive through a Google detour (a
referrer/UTM conflict the data-quality checks count). The rates differ by platform on purpose
so the report shows differences worth reading.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from urllib.parse import urlencode


@dataclass(frozen=True)
class Channel:
    """One acquisition channel and its behaviour (probabilities per new user)."""

    key: str
    weight: float
    channel: str
    ai_platform: str | None
    signup: float
    trial: float
    subscribe: float
    retention: tuple[float, float, float]
    """Probability of coming back on day 1, 7 and 30 after the first visit."""
    app_referrer: str | None = None
    """The Android app that opens links in the browser / app (mobile acquisition)."""


CHANNELS: tuple[Channel, ...] = (
    Channel(
        "chatgpt",
        17,
        "ai_assistant",
        "chatgpt",
        0.12,
        0.45,
        0.40,
        (0.34, 0.24, 0.16),
        "android-app://com.openai.chatgpt",
    ),
    Channel(
        "claude",
        8,
        "ai_assistant",
        "claude",
        0.15,
        0.50,
        0.45,
        (0.40, 0.30, 0.22),
        "android-app://com.anthropic.claude",
    ),
    Channel(
        "gemini",
        6,
        "ai_assistant",
        "gemini",
        0.07,
        0.35,
        0.30,
        (0.26, 0.16, 0.10),
        "android-app://com.google.android.apps.bard",
    ),
    Channel(
        "perplexity",
        7,
        "ai_assistant",
        "perplexity",
        0.10,
        0.40,
        0.35,
        (0.30, 0.20, 0.13),
        "android-app://ai.perplexity.app.android",
    ),
    Channel(
        "copilot",
        4,
        "ai_assistant",
        "copilot",
        0.06,
        0.35,
        0.30,
        (0.22, 0.14, 0.08),
        "android-app://com.microsoft.copilot",
    ),
    Channel(
        "google",
        20,
        "search",
        None,
        0.05,
        0.30,
        0.30,
        (0.22, 0.12, 0.07),
        "android-app://com.google.android.googlequicksearchbox",
    ),
    Channel("bing", 5, "search", None, 0.045, 0.30, 0.30, (0.20, 0.11, 0.06)),
    Channel(
        "social",
        10,
        "social",
        None,
        0.025,
        0.25,
        0.20,
        (0.15, 0.07, 0.03),
        "android-app://com.linkedin.android",
    ),
    Channel(
        "email",
        6,
        "email",
        None,
        0.08,
        0.35,
        0.35,
        (0.30, 0.22, 0.15),
        "android-app://com.google.android.gm",
    ),
    Channel("direct", 17, "direct", None, 0.06, 0.35, 0.30, (0.25, 0.15, 0.10)),
)
CHANNEL_BY_KEY = {c.key: c for c in CHANNELS}

APP_HOST = "https://app.promptflow.io"
LANDING_PATHS = (
    ("/", "PromptFlow: product analytics for the AI era"),
    ("/pricing", "Pricing | PromptFlow"),
    ("/docs/ai-traffic", "Measuring AI assistant traffic | PromptFlow Docs"),
    ("/blog/ai-referrals-2026", "Where AI referrals convert | PromptFlow Blog"),
    ("/features/attribution", "Attribution | PromptFlow"),
    ("/integrations/segment", "Segment integration | PromptFlow"),
)
INNER_PATHS = (
    ("/pricing", "Pricing | PromptFlow"),
    ("/docs/quickstart", "Quickstart | PromptFlow Docs"),
    ("/features/retention", "Retention | PromptFlow"),
    ("/app/dashboard", "Dashboard | PromptFlow"),
    ("/app/reports", "Reports | PromptFlow"),
    ("/customers", "Customers | PromptFlow"),
)
SOCIAL: tuple[tuple[str, dict[str, str]], ...] = (
    ("https://www.linkedin.com/", {"utm_source": "linkedin", "utm_medium": "social"}),
    ("https://t.co/x7Qm2Lp0aZ", {}),
    ("https://www.reddit.com/r/analytics/", {}),
    ("https://news.ycombinator.com/", {}),
    ("https://x.com/", {"utm_source": "twitter", "utm_medium": "social"}),
)


@dataclass(frozen=True)
class Touch:
    """The referral signals of one arrival: referrer URL, UTM parameters, app referrer."""

    channel: str
    referrer: str | None
    utm: tuple[tuple[str, str], ...]
    app_referrer: str | None = None

    def landing_url(self, path: str) -> str:
        query = urlencode(self.utm)
        return f"{APP_HOST}{path}" + (f"?{query}" if query else "")


def web_touch(rng: random.Random, key: str, month: str) -> Touch:
    """The signals a browser arrival from channel `key` carries."""
    roll = rng.random()
    utm: tuple[tuple[str, str], ...]
    if key == "chatgpt":
        utm = (("utm_source", "chatgpt.com"),)
        if roll < 0.05:  # the link went through a Google search first: a conflict
            return Touch(key, "https://www.google.com/", utm)
        if roll < 0.75:
            return Touch(key, "https://chatgpt.com/", utm)
        return Touch(key, None, utm)  # desktop app: no referrer, the UTM survives
    if key == "claude":
        if roll < 0.9:
            return Touch(key, "https://claude.ai/", ())
        return Touch(key, None, (("utm_source", "claude.ai"),))
    if key == "gemini":
        utm = (("utm_source", "gemini"),) if roll < 0.15 else ()
        return Touch(key, "https://gemini.google.com/", utm)
    if key == "perplexity":
        referrer = (
            "https://www.perplexity.ai/search/best-product-analytics-for-ai-traffic"
            if roll < 0.5
            else "https://www.perplexity.ai/"
        )
        utm = (("utm_source", "perplexity"),) if rng.random() < 0.2 else ()
        return Touch(key, referrer, utm)
    if key == "copilot":
        return Touch(key, "https://copilot.microsoft.com/", ())
    if key == "google":
        return Touch(key, "https://www.google.com/", ())
    if key == "bing":
        return Touch(key, "https://www.bing.com/", ())
    if key == "social":
        referrer, params = SOCIAL[int(roll * len(SOCIAL))]
        return Touch(key, referrer, tuple(params.items()))
    if key == "email":
        utm = (
            ("utm_source", "newsletter"),
            ("utm_medium", "email"),
            ("utm_campaign", f"{month}-digest"),
        )
        return Touch(key, "https://mail.google.com/" if roll < 0.3 else None, utm)
    return Touch("direct", None, ())


def app_touch(key: str) -> Touch:
    """The signals of an app launch from channel `key` (the Android app referrer)."""
    channel = CHANNEL_BY_KEY[key]
    if channel.app_referrer is None:
        return Touch("direct", None, ())
    return Touch(key, None, (), channel.app_referrer)
