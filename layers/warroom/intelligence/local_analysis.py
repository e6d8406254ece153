"""The MOCK path: a deterministic, offline analysis with the same shape as OpenAI's.

Example
-------
>>> result = analyse_locally([Piece("Disgraceful. Alvarez lied about medicare. #Scandal")])
>>> result.sentiment.label, result.risk.level, result.themes[:1]
('negative', 'high', ['healthcare'])

No model, no network, no randomness: the same input always gives the same answer, so a dashboard built
in MOCK mode shows stable results and tests can assert them.

* Sentiment: each piece's own score (a stored mention's) or VADER's (:mod:`warroom.mentions.sentiment`),
  averaged; labelled with the mention bands (positive > 0.3, negative < -0.3).
* Keywords: word frequency without stop words (hashtags kept, handles are entities), most frequent first.
* Themes: the mentions' own topics plus a small lexicon of campaign themes, by number of hits.
* Entities: @accounts; capitalised names, classed by a small gazetteer (places), organisation suffixes and
  acronyms, and titles (Governor, Senator, ...) or full names (people).
* Risk: points for how negative the text is, crisis vocabulary (scandal, fraud, lied, ...), a large share
  of strongly negative mentions and a wide reach; 0 low, 1-2 medium, 3-5 high, 6+ critical.
* Suggested response: a template per risk level, naming the leading themes.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from warroom.intelligence.models import AnalysisResult, Entity, EntityType, Risk, RiskLevel, Sentiment
from warroom.mentions.models import STRONGLY_NEGATIVE_BELOW, sentiment_label
from warroom.mentions.sentiment import score_text

LOCAL_MODEL = "warroom-local-1"
MAX_KEYWORDS = 10
MAX_THEMES = 5
MAX_ENTITIES = 15
WIDE_REACH = 100_000


def _words(text: str) -> frozenset[str]:
    """A vocabulary written as white-space separated words (easier to read and extend than a list literal)."""
    return frozenset(text.split())


STOP_WORDS = _words(
    """
    a about above after again against all also am an and any are aren't as at be because been before being
    below between both but by can can't could couldn't did didn't do does doesn't doing don't down during each
    few for from further get gets got had hadn't has hasn't have haven't having he he'd he'll he's her here
    here's hers herself him himself his how how's i i'd i'll i'm i've if in into is isn't it it's its itself
    just let's like me more most much must mustn't my myself no nor not now of off on once only or other ought
    our ours ourselves out over own really same say says said she she'd she'll she's should shouldn't so some
    still such than that that's the their theirs them themselves then there there's these they they'd they'll
    they're they've this those through to too under until up upon us very via was wasn't we we'd we'll we're
    we've were weren't what what's when when's where where's which while who who's whom why why's will with
    won't would wouldn't yet you you'd you'll you're you've your yours yourself yourselves one two today
    tonight tomorrow yesterday week again ever every going gonna think know see time way many make made
    """
)
THEMES: dict[str, frozenset[str]] = {
    "economy": _words("economy economic inflation prices price wages cost costs groceries gas recession"),
    "healthcare": _words("healthcare health medicare medicaid insurance hospital hospitals drug drugs"),
    "education": _words("education schools school teachers students student tuition college"),
    "immigration": _words("immigration border asylum visas visa migrants immigrants deportation"),
    "climate": _words("climate energy emissions wildfires environment renewable pollution"),
    "public-safety": _words("crime police safety guns gun shooting violence policing"),
    "housing": _words("housing rent rents mortgages mortgage homelessness homeless landlords"),
    "jobs": _words("jobs job manufacturing unions union unemployment workers factory"),
    "taxes": _words("taxes tax irs deficit spending"),
    "debate": _words("debate moderator fact-check"),
    "election-integrity": _words("ballot ballots fraud rigged polling voter voters turnout"),
    "ethics": _words("scandal corruption corrupt bribe bribery lawsuit investigation indicted leak"),
}
CRISIS_TERMS = _words(
    """
    scandal scandals corrupt corruption fraud lawsuit sued indicted indictment arrest arrested investigation
    leak leaked resign resignation racist sexist harassment bribe bribery lied lies liar cover-up coverup
    misleading boycott violence threat threats disgraceful outrageous shameful dishonest disaster
    """
)
PLACES = _words(
    """
    Alabama Alaska Arizona Arkansas California Colorado Connecticut Delaware Florida Georgia Hawaii Idaho Illinois
    Indiana Iowa Kansas Kentucky Louisiana Maine Maryland Massachusetts Michigan Minnesota Mississippi Missouri
    Montana Nebraska Nevada Ohio Oklahoma Oregon Pennsylvania Tennessee Texas Utah Vermont Virginia Washington
    Wisconsin Wyoming Philadelphia Pittsburgh Detroit Milwaukee Phoenix Atlanta Charlotte Houston Miami Columbus
    Chicago Boston Denver Dallas Austin Seattle Toronto London Madrid Berlin Paris America Canada Mexico Europe
    """
) | {
    "New York",
    "New Jersey",
    "New Mexico",
    "New Hampshire",
    "North Carolina",
    "South Carolina",
    "North Dakota",
    "South Dakota",
    "West Virginia",
    "Rhode Island",
    "Las Vegas",
    "Los Angeles",
    "San Francisco",
    "Mexico City",
    "District of Columbia",
    "United States",
}
ORGANIZATION_WORDS = _words(
    """
    Inc Corp Company Party Committee Campaign Association Union Council Department University College News Times
    Post Daily Ledger Wire Observer Journal Tribune Herald Agency Commission Senate House Court Foundation Network
    PAC Institute Group Bank
    """
)
# Capitalised, but not names of anything a campaign tracks.
NOT_ENTITIES = _words(
    """
    Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April May June July August
    September October November December
    """
)
PERSON_TITLES = _words(
    "Governor Gov Senator Sen Mayor Representative Rep President Candidate Dr Mr Ms Mrs Judge Secretary"
)
_WORD = re.compile(r"[#@]?[A-Za-z][\w'\-]*\w|[#@]?[A-Za-z]")
_HANDLE = re.compile(r"(?<![\w@])@([A-Za-z0-9_]{2,30})")
_ACRONYM = re.compile(r"\b[A-Z]{2,6}(?:-[A-Z]{2,6})?\b")
_NAME = re.compile(r"\b[A-Z][a-z]+(?:(?: of| de| del)? [A-Z][a-z]+){0,3}\b")
_SENTENCE_START = re.compile(r"(?:^|[.!?:;]\s+|\n\s*)$")


@dataclass(frozen=True)
class Piece:
    """One text to analyse: the caller's text, or a stored mention with its score, topics and reach."""

    text: str
    score: float | None = None
    topics: tuple[str, ...] = field(default_factory=tuple)
    reach: int = 0


def analyse_locally(pieces: list[Piece]) -> AnalysisResult:
    """The local analysis of ``pieces`` taken together."""
    scores = [piece.score if piece.score is not None else score_text(piece.text) for piece in pieces]
    overall = round(sum(scores) / len(scores), 3) if scores else 0.0
    label = sentiment_label(overall) or "neutral"
    text = "\n".join(piece.text for piece in pieces)
    words = [word.lower() for word in _WORD.findall(text)]
    themes = _themes(words, pieces)
    keywords = _keywords(words)
    level, reasons = _risk(overall, scores, words, sum(piece.reach for piece in pieces))
    return AnalysisResult(
        summary=_summary(len(pieces), label, overall, themes, level),
        sentiment=Sentiment(score=overall, label=label),
        themes=themes,
        keywords=keywords,
        entities=_entities(text),
        risk=Risk(level=level, reasons=reasons),
        suggested_response=_suggested_response(level, label, themes),
    )


def _keywords(words: list[str]) -> list[str]:
    counts = Counter(
        word
        for word in words
        if not word.startswith("@")
        and len(word.lstrip("#")) > 2
        and word.lstrip("#") not in STOP_WORDS
        and word.capitalize() not in NOT_ENTITIES
    )
    first_seen = {word: index for index, word in reversed(list(enumerate(words)))}
    ranked = sorted(counts, key=lambda word: (-counts[word], first_seen[word]))
    return ranked[:MAX_KEYWORDS]


def _themes(words: list[str], pieces: list[Piece]) -> list[str]:
    hits: Counter[str] = Counter()
    for piece in pieces:
        hits.update(topic for topic in piece.topics)
    bare = [word.lstrip("#") for word in words]
    for theme, vocabulary in THEMES.items():
        found = sum(1 for word in bare if word in vocabulary)
        if found:
            hits[theme] += found
    return [theme for theme, _ in sorted(hits.items(), key=lambda item: (-item[1], item[0]))][:MAX_THEMES]


def _risk(overall: float, scores: list[float], words: list[str], reach: int) -> tuple[RiskLevel, list[str]]:
    points, reasons = 0, []
    if overall < STRONGLY_NEGATIVE_BELOW:
        points, reasons = 3, [f"strongly negative sentiment ({overall:+.2f})"]
    elif overall < -0.5:
        points, reasons = 2, [f"clearly negative sentiment ({overall:+.2f})"]
    elif overall < -0.3:
        points, reasons = 1, [f"negative sentiment ({overall:+.2f})"]
    terms = sorted({word.lstrip("#") for word in words} & CRISIS_TERMS)
    if terms:
        points += 2 if len(terms) >= 3 else 1
        reasons.append("crisis vocabulary: " + ", ".join(terms[:6]))
    strongly_negative = sum(1 for score in scores if score < STRONGLY_NEGATIVE_BELOW)
    if len(scores) >= 4 and strongly_negative / len(scores) >= 0.25:
        points += 1
        reasons.append(f"{strongly_negative} of {len(scores)} mentions strongly negative")
    if reach >= WIDE_REACH and overall < 0:
        points += 1
        reasons.append(f"wide reach ({reach:,})")
    level: RiskLevel = "low" if points == 0 else "medium" if points <= 2 else "high" if points <= 5 else "critical"
    return level, reasons or ["no negative signal"]


def _entity_type(name: str, preceding: str) -> EntityType:
    words = name.split()
    if name in PLACES:
        return "location"
    if words[-1] in ORGANIZATION_WORDS:
        return "organization"
    if words[0] in PERSON_TITLES or preceding.rstrip(". ").split(" ")[-1] in PERSON_TITLES or len(words) in (2, 3):
        return "person"
    return "other"


def _entities(text: str) -> list[Entity]:
    found: dict[str, Entity] = {}

    def add(name: str, kind: EntityType) -> None:
        if name.lower() not in found and len(found) < MAX_ENTITIES:
            found[name.lower()] = Entity(name=name, type=kind)

    candidates: list[tuple[int, str, EntityType]] = []
    candidates += [(m.start(), "@" + m.group(1), "account") for m in _HANDLE.finditer(text)]
    for match in _ACRONYM.finditer(text):
        if match.group() not in {"I", "OK", "TV", "AM", "PM"} and text[max(0, match.start() - 1)] not in "#@":
            kind: EntityType = "location" if match.group() in {"US", "USA", "UK"} else "organization"
            candidates.append((match.start(), match.group(), kind))
    for match in _NAME.finditer(text):
        if text[: match.start()].endswith(("#", "@")):
            continue
        words, start = match.group().split(" "), match.start()
        # "Yesterday Governor Blake": drop capitalised common words in front, and anything before a title.
        while words and (words[0].lower() in STOP_WORDS or words[0] in NOT_ENTITIES):
            start += len(words.pop(0)) + 1
        titled = next((i for i, word in enumerate(words) if i > 0 and word in PERSON_TITLES), None)
        if titled is not None:
            start += len(" ".join(words[:titled])) + 1
            words = words[titled:]
        if not words:
            continue
        name, before = " ".join(words), text[:start]
        single = len(words) == 1
        if single and name not in PLACES and (name in PERSON_TITLES or _SENTENCE_START.search(before)):
            continue  # one capitalised word opening a sentence is usually just a word
        candidates.append((start, name, _entity_type(name, before[-20:])))
    for _, name, kind in sorted(candidates, key=lambda candidate: candidate[0]):
        add(name, kind)
    return list(found.values())


def _summary(pieces: int, label: str, score: float, themes: list[str], level: RiskLevel) -> str:
    what = "1 text" if pieces == 1 else f"{pieces} texts"
    about = f", mostly about {' and '.join(themes[:2])}" if themes else ""
    return f"{what.capitalize()} analysed: {label} overall ({score:+.2f}){about}; {level} risk."


def _suggested_response(level: RiskLevel, label: str, themes: list[str]) -> str:
    topic = " and ".join(themes[:2]) if themes else "the issue raised"
    if level == "critical":
        return (
            "Escalate now: convene the rapid-response team, brief the candidate and counsel, publish a short "
            f"holding statement on {topic} and make no further comment until the facts are verified."
        )
    if level == "high":
        return (
            f"Prepare a holding statement on {topic} within the hour, brief the spokesperson, correct factual "
            "errors with sourced figures, and escalate to the campaign manager if the volume keeps rising."
        )
    if level == "medium":
        return (
            f"Monitor closely and prepare talking points on {topic}; answer factual questions with sourced "
            "figures and do not engage hostile accounts directly."
        )
    if label == "positive":
        return f"No response needed. Amplify: share or thank the supportive voices on {topic}."
    return f"No response needed; keep monitoring {topic}."
