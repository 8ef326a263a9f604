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

`Classifier.classify` reads from its inputs only what can change the verdict (the `Signals`:
cleaned utm_source and utm_medium, whether another UTM field is set, whether a known click id
is present, the app referrers' keys, the web referrer's normalised host and whether it is the
landing page's own host), reading the landing URL once (signals.split_web for plain http(s)
URLs, with exactly urlsplit's result; urlsplit for anything else) and its query only when it
can hold a UTM field or click id. The verdict is cached by those signals in a bounded LRU
that belongs to the rules in force, so a reload starts an empty one. Landing URLs are nearly all
distinct; their signals are few. `Classifier.classify_uncached` is the direct reading of the
decision order above, kept as the reference the fast path is tested against.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple
from urllib.parse import SplitResult, urlsplit

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
    normalise_cached,
    normalise_host,
    parse_query,
    query_params,
    split_web,
    url_host,
    web_host,
)

log = logging.getLogger(__name__)

VERDICT_CACHE = 16384
"""Verdicts remembered per rules version, by signals (least recently used dropped first)."""

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


class Signals(NamedTuple):
    """What of one event's inputs can change its classification (the verdict cache's key)."""

    utm_source: str | None  # trimmed, lowercased, None when absent or blank
    utm_medium: str | None
    other_utm: bool  # utm_campaign, utm_term or utm_content set
    click_id: bool  # a click id the rules know, explicit or in the landing URL's query
    app_keys: tuple[str, ...]  # app_key() of an app URI in app_referrer, then in referrer
    web: tuple[str | None, bool] | None  # web referrer: (host or None, is an unlisted page host)


class CacheInfo(NamedTuple):
    hits: int
    misses: int
    maxsize: int
    currsize: int


class _Loaded:
    """Rules in force with the verdict cache that belongs to them."""

    __slots__ = ("click_names", "click_search", "decide", "rules")

    def __init__(self, rules: CompiledRules, maxsize: int) -> None:
        self.rules = rules
        # A query must contain (lowercased) "utm_" or a click id's name for parse_qsl to find
        # a UTM field or click id there, unless it is percent-encoded ('%'): names are only
        # unquoted and lowercased, and '+' only ever becomes a space.
        self.click_names = tuple(sorted(rules.click_ids))
        # One scan of the lowered query for any of them (a search, not a parse).
        self.click_search = (
            re.compile("|".join(re.escape(name) for name in self.click_names)).search
            if self.click_names
            else _never
        )
        self.decide = functools.lru_cache(maxsize=maxsize)(functools.partial(_decide, rules))


def _never(_text: str) -> None:
    return None


class Classifier:
    """Classifies referral signals with rules read from a file, reloaded when it changes.

    `rules` is a rules file, or a directory whose newest MAJOR.MINOR.PATCH.json is used (so a
    new version dropped into contracts/referral_rules/ takes over without a restart). The file's
    identity (path, mtime, size) is checked at most every `check_interval` seconds; a changed
    file that fails validation is logged and the previous rules stay in force, because a bad
    edit must not stop ingestion. `last_error` keeps the reason for /readyz and operators.
    """

    def __init__(
        self,
        rules: Path = RULES_DIR,
        *,
        check_interval: float = 1.0,
        cache_size: int = VERDICT_CACHE,
    ) -> None:
        self._source = Path(rules)
        self._interval = check_interval
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self.last_error: str | None = None
        path = self._current_file()
        self._identity = _identity(path)
        self._loaded = _Loaded(load_rules(path), cache_size)
        self._checked = time.monotonic()

    @property
    def rules(self) -> CompiledRules:
        """The rules in force (after a reload check)."""
        self._maybe_reload()
        return self._loaded.rules

    @property
    def _rules(self) -> CompiledRules:
        return self._loaded.rules

    def cache_info(self) -> CacheInfo:
        """Hits and misses of the verdict cache of the rules in force (since they loaded)."""
        info = self._loaded.decide.cache_info()
        return CacheInfo(info.hits, info.misses, info.maxsize or 0, info.currsize)

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
            self._loaded = _Loaded(rules, self._cache_size)  # old verdicts go with old rules
            self._identity, self.last_error = identity, None
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

        The verdict is `classify_uncached`'s, looked up by `signals()` in the verdict cache.
        """
        self._maybe_reload()
        loaded = self._loaded
        return loaded.decide(_signals(loaded, page_url, referrer, utm, app_referrer, click_ids))

    def signals(
        self,
        *,
        page_url: str | None = None,
        referrer: str | None = None,
        utm: Mapping[str, str] | None = None,
        app_referrer: str | None = None,
        click_ids: Mapping[str, str] | None = None,
    ) -> Signals:
        """The signals `classify` decides on (and caches by), with the rules in force."""
        self._maybe_reload()
        return _signals(self._loaded, page_url, referrer, utm, app_referrer, click_ids)

    def classify_uncached(
        self,
        *,
        page_url: str | None = None,
        referrer: str | None = None,
        utm: Mapping[str, str] | None = None,
        app_referrer: str | None = None,
        click_ids: Mapping[str, str] | None = None,
    ) -> Classification:
        """`classify` read directly off the decision order, without signals or cache."""
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


def _signals(
    loaded: _Loaded,
    page_url: str | None,
    referrer: str | None,
    utm: Mapping[str, str] | None,
    app_referrer: str | None,
    click_ids: Mapping[str, str] | None,
) -> Signals:
    """The inputs reduced to what `_decide` needs; agrees with `classify_uncached`."""
    rules = loaded.rules
    # Explicit UTM values win over the landing URL's; its query only fills the gaps.
    if utm:
        source = _clean(utm.get("utm_source"))
        medium = _clean(utm.get("utm_medium"))
        other = bool(
            _clean(utm.get("utm_campaign"))
            or _clean(utm.get("utm_term"))
            or _clean(utm.get("utm_content"))
        )
    else:
        source = medium = None
        other = False
    # The landing URL: read once (like query_params and url_host, which both split
    # page_url.strip() and give up on a ValueError), by split_web when it is a plain http(s)
    # URL, else by urlsplit; its query parsed only when it may hold a click id or a UTM field
    # that is still missing.
    page: tuple[str, str] | SplitResult | None = None
    params: dict[str, str] = {}
    if page_url:
        stripped = page_url.strip()
        page = split_web(stripped)
        if page is not None:
            query = page[1]
        else:
            try:
                page = urlsplit(stripped)
            except ValueError:
                page = None
            query = page.query if page is not None else ""
        if query:
            lowered = query.lower()
            if (
                "%" in query
                or ((source is None or medium is None or not other) and "utm_" in lowered)
                or loaded.click_search(lowered) is not None
            ):
                params = parse_query(query)
    if params:
        get = params.get
        source = source or _clean(get("utm_source"))
        medium = medium or _clean(get("utm_medium"))
        other = other or bool(
            _clean(get("utm_campaign")) or _clean(get("utm_term")) or _clean(get("utm_content"))
        )
    if click_ids:
        click = _has_click_id(rules, params, click_ids)
    else:  # _has_click_id without explicit click ids: is a rule's click id in the query?
        click = bool(params) and not rules.click_ids.isdisjoint(params)

    referrer = referrer.strip() if referrer else None
    # app_key() of an app URI in app_referrer, then in referrer
    referrer_app = app_key(referrer) if referrer and is_app_uri(referrer) else None
    app_keys: tuple[str, ...] = ()
    if app_referrer and is_app_uri(app_referrer):
        first = app_key(app_referrer)
        app_keys = (first,) if referrer_app is None else (first, referrer_app)
    elif referrer_app is not None:
        app_keys = (referrer_app,)
    web: tuple[str | None, bool] | None = None
    if referrer and referrer_app is None:
        host = web_host(referrer)
        own = False  # only read when no rule knows the host (_host_verdict)
        if host is not None and page is not None and lookup_host(host, rules.hosts) is None:
            own = _page_host(page) == host
        web = (host, own)
    return Signals(source, medium, other, click, app_keys, web)


def _page_host(page: tuple[str, str] | SplitResult) -> str | None:
    """url_host() of the landing URL, from split_web's (host, query) or urlsplit's parts."""
    if isinstance(page, SplitResult):
        return _parts_host(page)
    host = page[0]
    return normalise_cached(host) if host else None


_OTHER_UTM_FIELDS = ("utm_campaign", "utm_term", "utm_content")


def _parts_host(parts: SplitResult) -> str | None:
    """url_host() of the URL `parts` was split from."""
    try:
        hostname = parts.hostname
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not hostname:
        return None
    return normalise_host(hostname)


def _decide(rules: CompiledRules, signals: Signals) -> Classification:
    """The classification of `signals` (the decision order of the module docstring)."""
    source, medium, other_utm, click, app_keys, web = signals
    utm_verdict = _utm_verdict(rules, source, medium)
    referrer_verdict: Verdict | None
    if app_keys:
        referrer_verdict, referrer_method = ("referral", None), "app_referrer"
        for key in app_keys:
            known = rules.app_referrers.get(key)
            if known is not None:
                referrer_verdict = known
                break
        else:
            if web is not None:
                found = _host_verdict(rules, web)
                if found[0] not in ("referral", "unknown"):
                    referrer_verdict, referrer_method = found, "referrer"
    elif web is not None:
        referrer_verdict, referrer_method = _host_verdict(rules, web), "referrer"
    else:
        referrer_verdict, referrer_method = None, "none"
    conflict = (
        utm_verdict is not None
        and referrer_verdict is not None
        and _disagree(utm_verdict, referrer_verdict)
    )
    if utm_verdict is not None:
        return Classification(utm_verdict[0], utm_verdict[1], "utm", conflict)
    if click:
        return Classification("paid", None, "click_id", False)
    any_utm = source is not None or medium is not None or other_utm
    if referrer_verdict is not None and not (any_utm and referrer_verdict[0] in _UNINFORMATIVE):
        return Classification(referrer_verdict[0], referrer_verdict[1], referrer_method, False)
    if any_utm:
        return Classification("referral", None, "utm", False)
    return Classification("direct", None, "none", False)


def _host_verdict(rules: CompiledRules, web: tuple[str | None, bool]) -> Verdict:
    """_web_verdict() of a referrer already reduced to (host, is the page's host)."""
    host, own = web
    if host is None:
        return ("unknown", None)
    verdict = lookup_host(host, rules.hosts)
    if verdict is not None:
        return verdict
    return ("internal", None) if own else ("referral", None)


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
