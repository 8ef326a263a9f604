"""The referral classifier: raw acquisition signals -> channel, AI platform, method, conflict.

Decision order (docs/referral-classification.md has the full table and the reasons):

1. UTM parameters the rules recognise: an AI utm_source, else a known utm_medium, else a known
   utm_source. A tagged link states its origin on purpose, so it wins over the referrer.
2. An ad click id (gclid, fbclid, ...): paid.
3. The referrer: an app URI (android-app://, ios-app://) or a web referrer's host, matched
   exactly or as a subdomain; PromptFlow's own hosts are internal; any other readable host is
   referral; a referrer that cannot be read is unknown.
4. UTM parameters the rules do not know: referral (a tagged link from somewhere).
5. Nothing: direct.

`conflict` is true when a recognised UTM verdict and a readable, external referrer disagree
(a paid UTM arriving from a search engine or social network is consistent, not a conflict).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from registry_service.referral.rules import (
    RULES_DIR,
    CompiledRules,
    RulesError,
    Verdict,
    load_rules,
    newest_rules_file,
)
from registry_service.referral.signals import (
    app_key,
    is_app_uri,
    lookup_host,
    normalise_host,
    query_params,
    url_host,
)

log = logging.getLogger(__name__)

UTM_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
_CARRIERS_OF_PAID = frozenset({"search", "social"})
_UNINFORMATIVE = frozenset({"internal", "unknown"})


@dataclass(frozen=True)
class Classification:
    """The gateway's reading of one event's referral signals (contract: common/referral)."""

    channel: str
    ai_platform: str | None
    method: str
    conflict: bool

    def to_json(self) -> dict[str, str | bool | None]:
        return {
            "channel": self.channel,
            "ai_platform": self.ai_platform,
            "method": self.method,
            "conflict": self.conflict,
        }


class Classifier:
    """Classifies referral signals with rules read from a file, reloaded when it changes.

    `rules` is a rules file, or a directory whose newest MAJOR.MINOR.PATCH.json is used (so a
    new version dropped into contracts/referral_rules/ takes over without a restart). The file's
    identity (path, mtime, size) is checked at most every `check_interval` seconds; a changed
    file that fails validation is logged and the previous rules stay in force, because a bad
    edit must not stop ingestion. `last_error` keeps the reason for /readyz and operators.
    """

    def __init__(self, rules: Path = RULES_DIR, *, check_interval: float = 1.0) -> None:
        self._source = Path(rules)
        self._interval = check_interval
        self._lock = threading.Lock()
        self.last_error: str | None = None
        path = self._current_file()
        self._identity = _identity(path)
        self._rules = load_rules(path)
        self._checked = time.monotonic()

    @property
    def rules(self) -> CompiledRules:
        """The rules in force (after a reload check)."""
        self._maybe_reload()
        return self._rules

    @property
    def rules_version(self) -> str:
        return self.rules.version

    def reload_if_changed(self) -> bool:
        """Reload now when the rules file changed; True when new rules were loaded."""
        with self._lock:
            self._checked = time.monotonic()
            try:
                path = self._current_file()
                identity = _identity(path)
            except (RulesError, OSError) as exc:
                self.last_error = str(exc)
                log.error("referral rules not reloaded: %s", exc)
                return False
            if identity == self._identity:
                return False
            try:
                rules = load_rules(path)
            except RulesError as exc:
                self.last_error = str(exc)
                self._identity = identity  # do not re-read the same bad file every second
                log.error("referral rules not reloaded, keeping %s: %s", self._rules.version, exc)
                return False
            self._rules, self._identity, self.last_error = rules, identity, None
            log.info("referral rules %s loaded from %s", rules.version, path)
            return True

    def _maybe_reload(self) -> None:
        if time.monotonic() - self._checked >= self._interval:
            self.reload_if_changed()

    def _current_file(self) -> Path:
        return newest_rules_file(self._source) if self._source.is_dir() else self._source

    def classify(
        self,
        *,
        page_url: str | None = None,
        referrer: str | None = None,
        utm: Mapping[str, str] | None = None,
        app_referrer: str | None = None,
        click_ids: Mapping[str, str] | None = None,
    ) -> Classification:
        """Classify one event's signals.

        `page_url` is the landing URL: UTM parameters and click ids missing from `utm` and
        `click_ids` are read from its query string. `utm` keys are the parameter names
        (`utm_source`, ...). `referrer` may itself be an app URI.
        """
        rules = self.rules
        params = query_params(page_url)
        utm_values = {
            f: _clean(utm.get(f) if utm else None) or _clean(params.get(f)) for f in UTM_FIELDS
        }
        utm_verdict = _utm_verdict(rules, utm_values["utm_source"], utm_values["utm_medium"])
        referrer_verdict, referrer_method = _referrer_verdict(
            rules, page_url, referrer, app_referrer
        )
        conflict = (
            utm_verdict is not None
            and referrer_verdict is not None
            and _disagree(utm_verdict, referrer_verdict)
        )
        if utm_verdict is not None:
            return Classification(utm_verdict[0], utm_verdict[1], "utm", conflict)
        if _has_click_id(rules, params, click_ids):
            return Classification("paid", None, "click_id", False)
        any_utm = any(utm_values.values())
        if referrer_verdict is not None and not (any_utm and referrer_verdict[0] in _UNINFORMATIVE):
            return Classification(referrer_verdict[0], referrer_verdict[1], referrer_method, False)
        if any_utm:
            return Classification("referral", None, "utm", False)
        return Classification("direct", None, "none", False)


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip().lower()
    return value or None


def _utm_verdict(rules: CompiledRules, source: str | None, medium: str | None) -> Verdict | None:
    """The verdict of recognised UTM values: AI source, else medium, else source."""
    by_source: Verdict | None = None
    if source is not None:
        by_source = rules.utm_sources.get(source)
        if by_source is None and "." in source:  # utm_source=www.perplexity.ai: read as a host
            host = normalise_host(source)
            found = lookup_host(host, rules.hosts) if host else None
            by_source = found if found is not None and found[0] != "internal" else None
    if by_source is not None and by_source[0] == "ai_assistant":
        return by_source
    if medium is not None and medium in rules.utm_mediums:
        return (rules.utm_mediums[medium], None)
    return by_source


def _referrer_verdict(
    rules: CompiledRules, page_url: str | None, referrer: str | None, app_referrer: str | None
) -> tuple[Verdict | None, str]:
    """Verdict and method of the referring app or page; (None, "none") when there is neither."""
    referrer = referrer.strip() if referrer else None
    apps = [a for a in (app_referrer, referrer) if a and is_app_uri(a)]
    if apps:
        known = [rules.app_referrers.get(app_key(a)) for a in apps]
        for verdict in known:
            if verdict is not None:
                return verdict, "app_referrer"
        if referrer and not is_app_uri(referrer):
            web = _web_verdict(rules, page_url, referrer)
            if web[0] not in ("referral", "unknown"):
                return web, "referrer"
        return ("referral", None), "app_referrer"
    if referrer:
        return _web_verdict(rules, page_url, referrer), "referrer"
    return None, "none"


def _web_verdict(rules: CompiledRules, page_url: str | None, referrer: str) -> Verdict:
    host = url_host(referrer)
    if host is None:
        return ("unknown", None)
    verdict = lookup_host(host, rules.hosts)
    if verdict is not None:
        return verdict
    if page_url and url_host(page_url) == host:  # a host of the site missing from internal_hosts
        return ("internal", None)
    return ("referral", None)


def _has_click_id(
    rules: CompiledRules, params: Mapping[str, str], click_ids: Mapping[str, str] | None
) -> bool:
    if click_ids and any(v and k.lower() in rules.click_ids for k, v in click_ids.items()):
        return True
    return any(name in params for name in rules.click_ids)


def _disagree(utm: Verdict, referrer: Verdict) -> bool:
    if referrer[0] in _UNINFORMATIVE or utm == referrer:
        return False
    return not (utm[0] == "paid" and referrer[0] in _CARRIERS_OF_PAID)


def _identity(path: Path) -> tuple[str, int, int]:
    stat = path.stat()
    return (str(path), stat.st_mtime_ns, stat.st_size)


_default: Classifier | None = None
_default_lock = threading.Lock()


def default_classifier() -> Classifier:
    """The process-wide classifier over contracts/referral_rules/ (newest version)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Classifier(RULES_DIR)
        return _default
