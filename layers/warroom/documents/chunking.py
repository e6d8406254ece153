"""An extracted document split into overlapping chunks for search by meaning, each with its pages and heading.

Example
-------
>>> from warroom.documents.chunking import chunk_document
>>> from warroom.documents.extract import extract
>>> chunks = chunk_document(extract(data, "briefing-book.pdf"))
>>> [(c.ordinal, c.page_start, c.page_end, c.heading) for c in chunks[:2]]
[(0, 1, 1, 'Healthcare Policy Briefing Book'), (1, 2, 3, 'Rural Hospital Closures')]

**Splitter: semantic-text-splitter** (Rust, MIT): it cuts at the largest semantic unit that fits -- sections under
a heading, then paragraphs, lines, sentences, words -- and merges neighbours up to the size, so a chunk never
ends mid-sentence unless one sentence is longer than a chunk. DOCX, PDF and Markdown go through its
``MarkdownSplitter`` (:mod:`warroom.documents.extract` renders their headings and lists as Markdown), plain text
through its ``TextSplitter``.

**Sizes in tokens, counted offline.** The splitter counts tokens itself with tiktoken-rs, whose BPE tables are
compiled into the wheel: nothing is downloaded (unlike the Python ``tiktoken``), in Lambda or in tests. They are
``text-embedding-3-small``'s tokens (``cl100k_base``), what the embedding model sees, so no characters-per-token
guess is needed (numbers and tables run well under 4 characters a token). A chunk's own text is 500 to 696
tokens; up to :data:`OVERLAP_TOKENS` of whole sentences from just before it are then repeated in front, so no
chunk passes 800. The splitter keeps paragraphs whole and sections apart, so a chunk can be shorter than 500:
the one opening a section stops before a paragraph that would not fit, a section's last chunk holds what is
left, and a section under 500 tokens is a chunk of its own unless it fits with its neighbour.

**Overlap, added here.** The splitter's own overlap repeats whole units of the level it split at (sections,
paragraphs), nearly always longer than the overlap, so it repeated nothing (measured: 0 tokens on every sample).
Here each chunk starts earlier, at the earliest sentence start whose text up to the chunk fits in 100 tokens,
never reaching back past its section's heading; a chunk that opens a section repeats nothing (the previous
section is not its context).

Measured (``tests/document_samples.py``): the 30-page field report gives 40 chunks of 217 to 702 tokens (mean
504); the full ones inside a section hold 662 to 702, of which 80 to 94 tokens (11 to 14 %) repeat the chunk
before; 20 chunks span a page break. The briefing book (8 pages, 2,248 tokens, sections of 170 to 650) gives 5
chunks of whole sections, 168 to 647 tokens (mean 450), none repeating (each opens a section). Speed: about
1.8 µs a character (0.9 s for 200 dense pages, 505,000 characters), so some 9 s at the 2,000-page limit,
against the ingest function's 120 s.

**Which splitter version.** The Lambda runtime (python3.11, Amazon Linux 2, glibc 2.26) installs only
manylinux2014 wheels (``layers/Makefile``); semantic-text-splitter 0.24.2 and later ship manylinux_2_28 ones only,
so the project pins ``==0.24.1``: what the tests run is what Lambda runs (0.33.1 gives identical chunks on
every sample).

**Pages and headings.** Pages are joined into one text (a sentence cut by a page break -- no full stop before it,
lower case after it -- is joined with a space, so it stays one paragraph); a chunk's ``page_start`` and
``page_end`` are the pages of its first and last characters. ``heading`` is the heading in force where the
chunk's own text begins (after what it repeats): the nearest ``#`` heading (or setext heading) before that point
outside code blocks, or the one that starts there. Plain text has no headings.
"""

from __future__ import annotations

import bisect
import functools
import re
from dataclasses import dataclass

from warroom.documents.extract import ExtractedDocument, markdown_headings

TOKENIZER_MODEL = "text-embedding-3-small"  # tiktoken-rs maps it to cl100k_base
MIN_TOKENS = 500
MAX_TOKENS = 800
OVERLAP_TOKENS = 100
# Overlap and chunk tokenised together can take a token or two more than apart (the whitespace between them):
# the first pass leaves this much room, so a chunk never passes max_tokens.
JOINT_TOKENS = 4
_ENDS_SENTENCE = tuple(".!?:;\"')]\u201d\u2019")


@dataclass(frozen=True)
class Chunk:
    """A passage of a document: ``ordinal`` from 0 in reading order, pages counted from 1 (inclusive)."""

    ordinal: int
    text: str
    page_start: int
    page_end: int
    heading: str | None


def chunk_document(
    document: ExtractedDocument,
    *,
    min_tokens: int = MIN_TOKENS,
    max_tokens: int = MAX_TOKENS,
    overlap_tokens: int = OVERLAP_TOKENS,
) -> list[Chunk]:
    """The document's chunks, in order; ``[]`` when it has no text. The same document always gives the same
    chunks."""
    if not 0 <= overlap_tokens < min_tokens <= max_tokens - overlap_tokens - JOINT_TOKENS:
        raise ValueError(f"need 0 <= overlap_tokens < min_tokens <= max_tokens - overlap_tokens - {JOINT_TOKENS}")
    text, page_starts, page_numbers = _joined_pages(document)
    if not text.strip():
        return []
    markdown = document.type != "text"
    headings = [(offset, heading) for offset, _, heading in markdown_headings(text)] if markdown else []
    heading_offsets = [offset for offset, _ in headings]
    # The splitter's own overlap repeats whole units of the level it split at (sections, paragraphs), which are
    # nearly always longer than the overlap: it would repeat nothing. So it splits without overlap, leaving room
    # for up to ``overlap_tokens`` of whole sentences added in front of each chunk below.
    splitter = _splitter(markdown, min_tokens, max_tokens - overlap_tokens - JOINT_TOKENS)
    spans = [
        (offset, offset + len(piece))
        for offset, piece in splitter.chunk_indices(text)
        if any(char.isalnum() for char in piece)  # a rule, a lone bullet: nothing to find
    ]
    chunks: list[Chunk] = []
    previous_own_start = 0
    for own_start, end in spans:
        start = own_start
        if chunks and overlap_tokens:
            start = _overlap_start(text, previous_own_start, own_start, heading_offsets, overlap_tokens)
        heading_index = bisect.bisect_right(heading_offsets, own_start) - 1
        chunks.append(
            Chunk(
                ordinal=len(chunks),
                text=text[start:end],
                page_start=page_numbers[bisect.bisect_right(page_starts, start) - 1],
                page_end=page_numbers[bisect.bisect_right(page_starts, end - 1) - 1],
                heading=headings[heading_index][1] if heading_index >= 0 else None,
            )
        )
        previous_own_start = own_start
    return chunks


@functools.lru_cache(maxsize=8)
def _splitter(markdown: bool, min_tokens: int, max_tokens: int):
    # Building one loads the BPE tables (~70 ms): a warm Lambda container keeps it.
    from semantic_text_splitter import MarkdownSplitter, TextSplitter

    kind = MarkdownSplitter if markdown else TextSplitter
    return kind.from_tiktoken_model(TOKENIZER_MODEL, (min_tokens, max_tokens))


def _fits(text: str, tokens: int) -> bool:
    """Whether ``text`` is at most ``tokens`` long (a splitter of that size leaves it whole)."""
    return len(_splitter(False, tokens, tokens).chunks(text)) <= 1


_SENTENCE_START = re.compile(r"(?:(?<=[.!?\u2026])[\"')\]\u201d\u2019]*[ \t]+|\n+)(?=\S)")


def _overlap_start(text: str, previous_start: int, own_start: int, heading_offsets: list[int], tokens: int) -> int:
    """Where a chunk starting at ``own_start`` begins once it repeats the last whole sentences before it, up to
    ``tokens`` of them; none when it opens a section (the previous section is not its context)."""
    section = bisect.bisect_right(heading_offsets, own_start) - 1
    if section >= 0 and heading_offsets[section] == own_start:
        return own_start
    floor = max(previous_start, heading_offsets[section] if section >= 0 else 0)
    starts = [floor] + [match.end() for match in _SENTENCE_START.finditer(text, floor, own_start)]
    accepted: list[int] = []  # sentence starts, nearest first, whose run up to own_start fits the overlap
    for candidate in reversed(starts):
        if not _fits(text[candidate:own_start], tokens):
            break
        accepted.append(candidate)
    return accepted[-1] if accepted else own_start


def _joined_pages(document: ExtractedDocument) -> tuple[str, list[int], list[int]]:
    """The pages as one text, with the offset where each starts and its number."""
    parts: list[str] = []
    length = 0
    starts: list[int] = []
    numbers: list[int] = []
    for page in document.pages:
        body = page.text.strip()
        if not body:
            continue
        if parts:
            joint = _page_joint(parts[-1], body)
            parts.append(joint)
            length += len(joint)
        starts.append(length)
        numbers.append(page.number)
        parts.append(body)
        length += len(body)
    return "".join(parts), starts, numbers


def _page_joint(before: str, after: str) -> str:
    # A sentence cut by the page break (no full stop before it, lower case after it) is one paragraph.
    last_line = before.rsplit("\n", 1)[-1]
    if after[0].islower() and not before.endswith(_ENDS_SENTENCE) and not last_line.startswith("#"):
        return "" if before[-2:-1].isalpha() and before.endswith("-") else " "
    return "\n\n"
