"""The mock source: realistic, reproducible mentions of a political campaign, for MOCK mode and demos.

Example
-------
>>> page = MockSource().fetch(since, until, cursor=None)
>>> page.mentions[0].source, page.mentions[0].country
('twitter', 'US')

Every minute's mentions are a pure function of ``(seed, minute)``: fetching a window twice yields the
same mentions with the same external ids (``mock-<minute epoch>-<n>``), so re-running a sync or a
back-fill inserts nothing new. What makes it realistic enough to build a dashboard against:

* volume follows a diurnal curve (campaign time, US Eastern: quiet at night, peak around 20:00) with
  about ``mean_per_minute`` mentions a minute on average (Poisson per minute);
* nine channels with plausible shares; a pool of authors with log-normal follower counts and an
  influence score (0-100) that grows with reach, plus news outlets with large audiences;
* geo weighted towards the battleground states (country, region, city, lat/lon), languages by place;
* a sentiment mix of roughly 35 % positive, 40 % neutral, 20 % negative and 5 % strongly negative
  (< -0.8, the crisis rule), the text written to match; about 8 % come without a score so the local
  scorer (VADER) runs, as it does for live mentions that lack one;
* twelve recurring campaign topics, each with its keywords and hashtags.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import random
from dataclasses import dataclass
from typing import Any

from warroom.mentions.models import MentionIn
from warroom.mentions.sources.base import SourcePage

CANDIDATE = "Maria Alvarez"
CAMPAIGN_TAG = "#Alvarez2026"
OPPONENT = "Governor Blake"
CAMPAIGN_UTC_OFFSET_H = -5

CHANNELS = {
    "twitter": 0.30,
    "facebook": 0.15,
    "instagram": 0.09,
    "tiktok": 0.08,
    "youtube": 0.05,
    "news": 0.12,
    "blogs": 0.05,
    "forums": 0.04,
    "reddit": 0.12,
}
CHANNEL_URL = {
    "twitter": "https://x.com/{handle}/status/{id}",
    "facebook": "https://www.facebook.com/{handle}/posts/{id}",
    "instagram": "https://www.instagram.com/p/{id}/",
    "tiktok": "https://www.tiktok.com/@{handle}/video/{id}",
    "youtube": "https://www.youtube.com/watch?v={id}",
    "news": "https://news.example.com/{handle}/{id}",
    "blogs": "https://{handle}.blog.example.com/{id}",
    "forums": "https://forum.example.com/t/{id}",
    "reddit": "https://www.reddit.com/r/politics/comments/{id}/",
}
TOPICS: dict[str, tuple[str, list[str]]] = {
    "economy": ("the economy", ["inflation", "prices", "wages"]),
    "healthcare": ("healthcare", ["medicare", "insurance", "drug prices"]),
    "education": ("education", ["schools", "teachers", "student debt"]),
    "immigration": ("immigration", ["border", "asylum", "visas"]),
    "climate": ("climate policy", ["clean energy", "emissions", "wildfires"]),
    "public-safety": ("public safety", ["crime", "police", "gun laws"]),
    "housing": ("housing", ["rent", "mortgages", "homelessness"]),
    "jobs": ("jobs", ["manufacturing", "unions", "unemployment"]),
    "taxes": ("taxes", ["tax cuts", "middle class", "corporate taxes"]),
    "debate": ("the debate", ["debate", "moderator", "fact check"]),
    "rally": ("the rally", ["rally", "crowd", "speech"]),
    "endorsement": ("the endorsement", ["endorsement", "union endorsement", "mayor"]),
}
TOPIC_WEIGHTS = [14, 12, 8, 10, 7, 8, 8, 9, 7, 6, 6, 5]
TEMPLATES = {
    "positive": [
        "Great to see {candidate} take on {phrase}. Finally someone serious about {kw}! {tag}",
        "{candidate}'s plan on {kw} is exactly what {city} needs. Proud to support her. {tag}",
        "Loved the energy at {candidate}'s event in {city} today, she nailed {phrase}. {tag}",
        "Impressive answer from {candidate} on {kw}. Clear, honest and hopeful.",
        "Excellent piece on how {candidate} would fix {phrase} -- strong and practical ideas.",
    ],
    "neutral": [
        "{candidate} will speak about {phrase} in {city} on Thursday.",
        "Poll: voters in {region} rank {kw} among their top issues; {candidate} and {opponent} split.",
        "Watching the coverage of {candidate} and {opponent} on {phrase} tonight.",
        "{candidate} campaign releases schedule for events on {kw} this week.",
        "What is {candidate}'s position on {kw}? Looking for a source.",
    ],
    "negative": [
        "Not convinced by {candidate} on {phrase}. Her {kw} numbers don't add up.",
        "{candidate} dodged the question on {kw} again. Disappointing.",
        "Another vague promise about {phrase} from {candidate}. {region} deserves better.",
        "{candidate}'s record on {kw} is weak and voters in {city} know it.",
    ],
    "strongly_negative": [
        "Disgraceful. {candidate} lied about {kw} and thinks we won't notice. Terrible, awful record. #Scandal",
        "{candidate} is a disaster on {phrase}. Worst, most dishonest campaign I have ever seen. Furious.",
        "Outrageous! {candidate} caught misleading {city} voters on {kw}. Shameful and corrupt.",
    ],
}
SENTIMENT_MIX = [("positive", 0.35), ("neutral", 0.40), ("negative", 0.20), ("strongly_negative", 0.05)]
SCORE_RANGES = {
    "positive": (0.31, 0.95),
    "neutral": (-0.29, 0.29),
    "negative": (-0.79, -0.31),
    "strongly_negative": (-0.99, -0.81),
}
UNSCORED_SHARE = 0.08

# (country, region, city, lat, lon, weight, languages with weights)
PLACES: list[tuple[str, str, str, float, float, float, tuple[tuple[str, float], ...]]] = [
    ("US", "Pennsylvania", "Philadelphia", 39.9526, -75.1652, 9, (("en", 0.93), ("es", 0.07))),
    ("US", "Pennsylvania", "Pittsburgh", 40.4406, -79.9959, 5, (("en", 1.0),)),
    ("US", "Michigan", "Detroit", 42.3314, -83.0458, 7, (("en", 0.95), ("ar", 0.05))),
    ("US", "Wisconsin", "Milwaukee", 43.0389, -87.9065, 5, (("en", 1.0),)),
    ("US", "Arizona", "Phoenix", 33.4484, -112.0740, 6, (("en", 0.75), ("es", 0.25))),
    ("US", "Georgia", "Atlanta", 33.7490, -84.3880, 7, (("en", 1.0),)),
    ("US", "Nevada", "Las Vegas", 36.1699, -115.1398, 4, (("en", 0.8), ("es", 0.2))),
    ("US", "North Carolina", "Charlotte", 35.2271, -80.8431, 5, (("en", 1.0),)),
    ("US", "New York", "New York", 40.7128, -74.0060, 8, (("en", 0.85), ("es", 0.15))),
    ("US", "California", "Los Angeles", 34.0522, -118.2437, 7, (("en", 0.7), ("es", 0.3))),
    ("US", "Texas", "Houston", 29.7604, -95.3698, 6, (("en", 0.75), ("es", 0.25))),
    ("US", "Florida", "Miami", 25.7617, -80.1918, 6, (("en", 0.55), ("es", 0.45))),
    ("US", "Ohio", "Columbus", 39.9612, -82.9988, 4, (("en", 1.0),)),
    ("US", "District of Columbia", "Washington", 38.9072, -77.0369, 6, (("en", 1.0),)),
    ("CA", "Ontario", "Toronto", 43.6532, -79.3832, 2, (("en", 0.9), ("fr", 0.1))),
    ("GB", "England", "London", 51.5072, -0.1276, 2, (("en", 1.0),)),
    ("MX", "Ciudad de Mexico", "Mexico City", 19.4326, -99.1332, 2, (("es", 1.0),)),
    ("ES", "Madrid", "Madrid", 40.4168, -3.7038, 1, (("es", 1.0),)),
    ("DE", "Berlin", "Berlin", 52.5200, 13.4050, 1, (("de", 0.7), ("en", 0.3))),
]
FIRST = [
    "Alex",
    "Sam",
    "Jordan",
    "Taylor",
    "Chris",
    "Pat",
    "Morgan",
    "Jamie",
    "Casey",
    "Riley",
    "Dana",
    "Lee",
    "Maria",
    "Jose",
    "Aisha",
    "Wei",
    "Priya",
    "Omar",
    "Grace",
    "Luis",
    "Hannah",
    "Tom",
    "Nina",
    "Kofi",
]
LAST = [
    "Smith",
    "Johnson",
    "Garcia",
    "Brown",
    "Lee",
    "Martinez",
    "Davis",
    "Lopez",
    "Wilson",
    "Nguyen",
    "Clark",
    "Patel",
    "Khan",
    "Rivera",
    "Walker",
    "Young",
    "King",
    "Scott",
    "Adams",
    "Baker",
]
OUTLETS = [
    ("Capitol Ledger", "capitolledger"),
    ("Keystone Daily", "keystonedaily"),
    ("Metro Times", "metrotimes"),
    ("Swing State Post", "swingstatepost"),
    ("Evening Wire", "eveningwire"),
    ("Civic Observer", "civicobserver"),
]


@dataclass(frozen=True)
class _Author:
    name: str
    handle: str
    followers: int
    influence: float


@functools.cache
def _authors(seed: int) -> tuple[_Author, ...]:
    rng = random.Random(f"authors:{seed}")  # noqa: S311  (reproducible demo data)
    people = []
    for n in range(600):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        followers = int(rng.lognormvariate(6.0, 1.8))
        people.append(
            _Author(f"{first} {last}", f"{first.lower()}{last.lower()}{n}", followers, _influence(followers, rng))
        )
    return tuple(people)


@functools.cache
def _outlets(seed: int) -> tuple[_Author, ...]:
    rng = random.Random(f"outlets:{seed}")  # noqa: S311
    outlets = []
    for name, handle in OUTLETS:
        followers = int(rng.lognormvariate(12.0, 0.8))
        outlets.append(_Author(name, handle, followers, _influence(followers, rng)))
    return tuple(outlets)


def _influence(followers: int, rng: random.Random) -> float:
    """0-100: grows with the log of the audience, with some spread for engagement quality."""
    return round(max(0.0, min(100.0, math.log10(followers + 1) * 14 + rng.uniform(-6, 6))), 1)


def diurnal_factor(moment: dt.datetime) -> float:
    """Relative volume at this time of the campaign's day (mean 1.0): low at 04:00, peak at 20:00 local."""
    local_hour = (moment.hour + moment.minute / 60 + CAMPAIGN_UTC_OFFSET_H) % 24
    return 0.3 + 0.7 * (1 + math.cos(2 * math.pi * (local_hour - 20) / 24))


@functools.cache
def _cycle_shape(seed: int, topic: str) -> tuple[float, float]:
    rng = random.Random(f"cycle:{seed}:{topic}")  # noqa: S311
    return rng.uniform(24, 72), rng.uniform(0, 2 * math.pi)


def _news_cycle(seed: int, topic: str, moment: dt.datetime) -> float:
    """How hot a topic is now (1.0 to 4.0): each topic swells and fades on its own 1-3 day cycle, so topics
    trend against their own baseline as they do in a real campaign."""
    period_h, phase = _cycle_shape(seed, topic)
    hours = moment.timestamp() / 3600
    return 1.0 + 3.0 * max(0.0, math.sin(2 * math.pi * hours / period_h + phase)) ** 3


def _poisson(rng: random.Random, mean: float) -> int:
    limit, count, product = math.exp(-mean), 0, rng.random()
    while product > limit:
        count += 1
        product *= rng.random()
    return count


def _pick(rng: random.Random, weighted: list[tuple[Any, float]] | tuple[tuple[Any, float], ...]) -> Any:
    values, weights = zip(*weighted, strict=True)
    return rng.choices(values, weights=weights)[0]


class MockSource:
    """Generated mentions for any window; see the module docstring."""

    provider = "mock"

    def __init__(self, seed: int = 2026, mean_per_minute: float = 3.0, page_size: int = 5000):
        self.seed = seed
        self.mean_per_minute = mean_per_minute
        self.page_size = page_size

    def fetch(self, since: dt.datetime, until: dt.datetime, cursor: dict[str, Any] | None) -> SourcePage:
        """Mentions published in ``[since, until)``; a page ends at a minute boundary once it holds ``page_size``."""
        minute = dt.datetime.fromisoformat(cursor["minute"]) if cursor else since.replace(second=0, microsecond=0)
        mentions: list[MentionIn] = []
        while minute < until:
            mentions.extend(m for m in self.minute(minute) if since <= m.published_at < until)
            minute += dt.timedelta(minutes=1)
            if len(mentions) >= self.page_size and minute < until:
                return SourcePage(mentions, {"minute": minute.isoformat()})
        return SourcePage(mentions, None)

    def minute(self, start: dt.datetime) -> list[MentionIn]:
        """The mentions of the minute that starts at ``start`` (always the same ones)."""
        epoch = int(start.timestamp())
        rng = random.Random(f"{self.seed}:{epoch}")  # noqa: S311
        count = _poisson(rng, self.mean_per_minute * diurnal_factor(start))
        topic_weights = [w * _news_cycle(self.seed, t, start) for t, w in zip(TOPICS, TOPIC_WEIGHTS, strict=True)]
        return [self._mention(rng, start, epoch, n, topic_weights) for n in range(count)]

    def scripted(
        self, label: str, times: list[dt.datetime], topic: str, mix: list[tuple[str, float]]
    ) -> list[MentionIn]:
        """Mentions of one topic published at ``times`` with a given sentiment mix (the crisis simulator's).

        External ids are ``sim-<label>-<n>``: a new label is a new burst, the same label replays nothing.
        """
        if topic not in TOPICS:
            raise ValueError(f"unknown topic {topic!r}")
        rng = random.Random(f"{self.seed}:{label}")  # noqa: S311
        weights = [1.0 if name == topic else 0.0 for name in TOPICS]
        mentions = []
        for n, moment in enumerate(times):
            mention = self._mention(rng, moment, int(moment.timestamp()), n, weights, mix=mix)
            update = {"external_id": f"sim-{label}-{n}", "published_at": moment, "metadata": {"simulated": label}}
            mentions.append(mention.model_copy(update=update))
        return mentions

    def _mention(
        self,
        rng: random.Random,
        start: dt.datetime,
        epoch: int,
        n: int,
        topic_weights: list[float],
        mix: list[tuple[str, float]] | None = None,
    ) -> MentionIn:
        channel = _pick(rng, list(CHANNELS.items()))
        author = rng.choice(_outlets(self.seed)) if channel == "news" else rng.choice(_authors(self.seed))
        country, region, city, lat, lon, _, languages = rng.choices(PLACES, weights=[p[5] for p in PLACES])[0]
        topic_names = rng.choices(list(TOPICS), weights=topic_weights, k=rng.choice((1, 1, 2)))
        topic_names = list(dict.fromkeys(topic_names))
        phrase, keywords = TOPICS[topic_names[0]]
        keyword = rng.choice(keywords)
        mood = _pick(rng, mix or SENTIMENT_MIX)
        low, high = SCORE_RANGES[mood]
        content = rng.choice(TEMPLATES[mood]).format(
            candidate=CANDIDATE,
            opponent=OPPONENT,
            phrase=phrase,
            kw=keyword,
            city=city,
            region=region,
            tag=CAMPAIGN_TAG,
        )
        reach = int(author.followers * rng.uniform(0.05, 0.6))
        likes = int(reach * rng.uniform(0.002, 0.05))
        post_id = f"{epoch:x}{n:03d}{rng.randrange(16**6):06x}"
        # Built without validation: the generator only makes valid values, and a back-fill makes ~30k of them.
        return MentionIn.model_construct(
            provider="mock",
            external_id=f"mock-{epoch}-{n}",
            source=channel,
            content=content,
            published_at=start + dt.timedelta(seconds=rng.uniform(0, 59.999)),
            url=CHANNEL_URL[channel].format(handle=author.handle, id=post_id),
            language=_pick(rng, languages),
            author_name=author.name,
            author_handle=author.handle,
            author_followers=author.followers,
            author_influence=author.influence,
            country=country,
            region=region,
            city=city,
            latitude=round(lat + rng.uniform(-0.08, 0.08), 5),
            longitude=round(lon + rng.uniform(-0.08, 0.08), 5),
            likes=likes,
            shares=int(likes * rng.uniform(0.05, 0.4)),
            comments=int(likes * rng.uniform(0.02, 0.3)),
            reach=reach,
            sentiment_score=None if rng.random() < UNSCORED_SHARE else round(rng.uniform(low, high), 3),
            topics=topic_names,
            keywords=sorted({keyword, *rng.sample(keywords, k=1)}),
            metadata={"mood": mood},
        )
