"""Seeded mixed traffic for the warehouse tests: visitors from AI assistants, search, email and
direct; browser page views, some also reported by the web server; retried requests; identify,
signups reported by client and server; subscriptions; and events that arrive late (sent in a
later chunk than their occurred_at suggests). Deterministic for a seed."""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from registry_service.model import Producer
from tests.warehouse import events as ev
from tests.warehouse.conftest import BACKEND, WEB

SOURCES: list[dict[str, Any]] = [
    {"utm": {"source": "chatgpt.com"}, "referrer": "https://chatgpt.com/"},
    {"referrer": "https://claude.ai/chat/1"},
    {"referrer": "https://www.perplexity.ai/search/x"},
    {"utm": {"source": "gemini", "campaign": "launch"}},
    {"referrer": "https://www.google.com/"},
    {"utm": {"source": "newsletter", "medium": "email", "campaign": "weekly"}},
    {},
]


@dataclass
class Send:
    chunk: int
    producer: Producer
    event: dict[str, Any]


def traffic(seed: int, users: int = 40, chunks: int = 3) -> list[Send]:
    """Sends in chunk order; a chunk holds mostly its own third of the 40 days, plus late
    events from earlier days and retries of earlier requests."""
    rng = random.Random(seed)
    sends: list[Send] = []

    def chunk_of(day: float) -> int:
        return min(chunks - 1, int(day / (40 / chunks)))

    for index in range(users):
        anon = f"anon-{seed}-{index}"
        user_id = f"usr_{seed}_{index}"
        day = rng.uniform(0, 36)
        visits = rng.randint(1, 4)
        signed_up = False
        for _ in range(visits):
            source = rng.choice(SOURCES)
            start = ev.at(days=day)
            pages = rng.randint(1, 5)
            minute = 0.0
            for page in range(pages):
                kwargs: dict[str, Any] = (
                    dict(source) if page == 0 else {"referrer": "https://app.promptflow.io/"}
                )
                view = ev.page_view(
                    start + timedelta(minutes=minute),
                    anon,
                    path=f"/p{page}",
                    user_id=user_id if signed_up else None,
                    **kwargs,
                )
                chunk = chunk_of(day)
                if rng.random() < 0.1:  # late: arrives one chunk later
                    chunk = min(chunks - 1, chunk + 1)
                sends.append(Send(chunk, WEB, view))
                if rng.random() < 0.3:  # the web server reports it too
                    server_chunk = min(chunks - 1, chunk + rng.randint(0, 1))
                    sends.append(Send(server_chunk, BACKEND, ev.server_page_view(view)))
                if rng.random() < 0.1:  # a retried request
                    sends.append(Send(min(chunks - 1, chunk + 1), WEB, view))
                minute += rng.uniform(0.5, 40)
            when = start + timedelta(minutes=minute)
            if not signed_up and rng.random() < 0.5:
                signed_up = True
                chunk = chunk_of(day)
                sends.append(Send(chunk, WEB, ev.signup(when, user_id, anonymous_id=anon)))
                sends.append(Send(chunk, BACKEND, ev.signup(when, user_id, source="backend")))
                sends.append(Send(chunk, WEB, ev.identify(when, user_id, anon)))
                if rng.random() < 0.5:
                    paid = when + timedelta(minutes=2)
                    order = f"ord_{seed}x{index:06d}"
                    value = float(rng.choice([29, 99, 299]))
                    sends.append(
                        Send(
                            min(chunks - 1, chunk + 1),
                            BACKEND,
                            ev.subscription(paid, user_id, order, value),
                        )
                    )
            day += rng.choice([0.02, 1, 1, 3, 7, 9])
            if day > 39.5:
                break
    return sorted(sends, key=lambda s: s.chunk)
