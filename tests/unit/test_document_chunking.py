"""Chunking extracted documents: sizes in tokens, overlap in whole sentences, page ranges, headings."""

from __future__ import annotations

import functools
import re

import pytest
from semantic_text_splitter import TextSplitter

from tests import document_samples as samples
from warroom.documents.chunking import MAX_TOKENS, MIN_TOKENS, OVERLAP_TOKENS, TOKENIZER_MODEL, Chunk, chunk_document
from warroom.documents.extract import ExtractedDocument, PageText, extract


@functools.cache
def _counter(capacity: int) -> TextSplitter:
    return TextSplitter.from_tiktoken_model(TOKENIZER_MODEL, capacity)


def fits(text: str, tokens: int) -> bool:
    """Whether the text is at most ``tokens`` of the embedding model's tokens (a splitter that size keeps it whole)."""
    return len(_counter(tokens).chunks(text)) <= 1


def pages_document(pages: list[str], type_: str = "pdf") -> ExtractedDocument:
    return ExtractedDocument(type_, [PageText(n, text) for n, text in enumerate(pages, 1) if text], None, len(pages))


def located(document: ExtractedDocument, chunks: list[Chunk]) -> list[tuple[int, int]]:
    """(start, end) of each chunk in the document's pages joined as the chunker joins them; every chunk is a
    slice of that text, found in order (the report's sentences are all different)."""
    text = " ".join(page.text for page in document.pages)
    text = re.sub(r"\s+", " ", text)
    spans, cursor = [], 0
    for chunk in chunks:
        flat = re.sub(r"\s+", " ", chunk.text)
        start = text.find(flat, max(0, cursor - len(flat)))
        assert start >= 0, f"chunk {chunk.ordinal} is not a slice of the document"
        spans.append((start, start + len(flat)))
        cursor = start + len(flat)
    return spans


@pytest.fixture(scope="module")
def report() -> ExtractedDocument:
    """A 30-page field report through the real PDF path, with sections every 3 pages and run-on pages."""
    return extract(samples.pdf_bytes(samples.report_pages(30)), "field-report.pdf")


@pytest.fixture(scope="module")
def report_chunks(report) -> list[Chunk]:
    return chunk_document(report)


@pytest.fixture(scope="module")
def book_chunks() -> list[Chunk]:
    return chunk_document(extract(samples.briefing_book_pdf(), samples.BRIEFING_BOOK_FILENAME))


def test_chunks_are_numbered_in_order_and_never_empty(report_chunks, book_chunks):
    for chunks in (report_chunks, book_chunks):
        assert [chunk.ordinal for chunk in chunks] == list(range(len(chunks)))
        assert all(chunk.text == chunk.text.strip() and any(c.isalnum() for c in chunk.text) for chunk in chunks)


def test_chunks_hold_at_most_800_tokens_and_at_least_500_inside_a_section(report_chunks):
    assert all(fits(chunk.text, MAX_TOKENS) for chunk in report_chunks)
    # The splitter keeps sections apart and paragraphs whole: the chunk that opens a section stops before a
    # paragraph that would not fit, the one that closes it holds what is left. The others are full.
    opens = [chunk.text.startswith("# ") for chunk in report_chunks]
    inside = [chunk for index, chunk in enumerate(report_chunks[:-1]) if not opens[index] and not opens[index + 1]]
    assert len(inside) >= 10
    assert all(not fits(chunk.text, MIN_TOKENS - 1) for chunk in inside)
    assert all(not fits(chunk.text, 150) for chunk in report_chunks)


def test_chunks_overlap_by_whole_sentences_up_to_the_overlap(report, report_chunks):
    spans = located(report, report_chunks)
    text = re.sub(r"\s+", " ", " ".join(page.text for page in report.pages))
    shares = []
    for index in range(1, len(report_chunks)):
        chunk, (start, end), previous_end = report_chunks[index], spans[index], spans[index - 1][1]
        if chunk.text.startswith("# "):
            assert start >= previous_end, "a chunk opening a section repeats nothing of the one before"
            continue
        repeated = text[start:previous_end]
        assert repeated, f"chunk {chunk.ordinal} does not overlap the one before"
        assert re.match(r"[A-Z]", repeated) and text[start - 2] == ".", "the overlap starts at a sentence"
        assert fits(repeated, OVERLAP_TOKENS) and not fits(repeated, 30)
        full = index + 1 < len(report_chunks) and not report_chunks[index + 1].text.startswith("# ")
        if full:  # (a section's short last chunk repeats as much, a larger share of less)
            shares.append(len(repeated) / (end - start))  # the report's text is uniform: characters track tokens
    assert len(shares) >= 10
    assert 0.10 <= sum(shares) / len(shares) <= 0.15


def test_chunks_end_at_sentence_or_paragraph_boundaries(report_chunks, book_chunks):
    for chunk in report_chunks + book_chunks:
        assert chunk.text.endswith((".", ")", '"', ":")), chunk.text[-60:]


def test_page_ranges_are_those_of_a_chunks_first_and_last_words(report, report_chunks):
    def page_of(snippet: str) -> int:
        found = [page.number for page in report.pages if snippet in page.text]
        assert len(found) == 1, snippet
        return found[0]

    spanning = 0
    for chunk in report_chunks:
        first_sentence = re.search(r"precinct \d+ .*?canvass sheet \d+\.", chunk.text).group()
        last_sentence = re.findall(r"precinct \d+ [^.]*?canvass sheet \d+\.", chunk.text)[-1]
        assert chunk.page_start == page_of(first_sentence)
        assert chunk.page_end == page_of(last_sentence)
        spanning += chunk.page_start < chunk.page_end
    assert spanning >= 10


def test_a_sentence_cut_by_a_page_break_is_joined_into_one_paragraph(book_chunks):
    holder = next(chunk for chunk in book_chunks if "would be financed by redirecting unspent" in chunk.text)
    assert holder.page_start <= 2 and holder.page_end == 3


def test_page_ranges_skip_pages_without_text():
    document = pages_document(["Alpha one. " * 200, "", "Gamma three. " * 200])
    chunks = chunk_document(document)
    assert chunks[0].page_start == 1 and chunks[-1].page_end == 3
    assert {chunk.page_start for chunk in chunks} | {chunk.page_end for chunk in chunks} <= {1, 3}


def test_each_chunk_carries_the_heading_in_force_where_its_own_text_begins(report_chunks):
    region = None
    for chunk in report_chunks:
        if chunk.text.startswith("# Region"):
            region = chunk.text.split("\n", 1)[0][2:]
        assert chunk.heading == region


def test_the_briefing_books_chunks_start_at_its_sections(book_chunks):
    # Its sections are shorter than a chunk: the splitter packs whole ones, so no chunk begins mid-section.
    def page_of_heading(heading: str) -> int:
        return next(n for n, page in enumerate(samples.BRIEFING_BOOK_PAGES, 1) if f"# {heading}\n" in page)

    assert len(book_chunks) >= 4
    for chunk in book_chunks:
        assert chunk.text.startswith(f"# {chunk.heading}\n\n")
        assert chunk.page_start == page_of_heading(chunk.heading)
    assert book_chunks[-1].page_end == 8
    covered = " ".join(chunk.text for chunk in book_chunks)
    assert all(probe.phrase in covered for probe in samples.SEARCH_PROBES if probe.filename.endswith(".pdf"))


def test_the_nearest_heading_is_the_deepest_one_before_the_chunk():
    body = " ".join(f"Sentence {n} explains the field plan for county {n}." for n in range(120))
    text = f"# Field Plan\n\n## Door Knocking\n\n{body}\n\n## Phone Banks\n\n{body.replace('county', 'district')}"
    chunks = chunk_document(pages_document([text], "markdown"))
    assert chunks[0].heading == "Field Plan"
    assert {chunk.heading for chunk in chunks[1:]} == {"Door Knocking", "Phone Banks"}
    assert any(chunk.heading == "Door Knocking" and not chunk.text.startswith("#") for chunk in chunks)


def test_headings_are_markdown_headings_outside_code_only():
    filler = " ".join(f"Line {n} of the runbook." for n in range(150))
    text = f"Setext Title\n============\n\n{filler}\n\n```bash\n# not a heading\n{filler}\n```\n\n{filler}"
    chunks = chunk_document(pages_document([text], "markdown"))
    assert len(chunks) > 2
    assert {chunk.heading for chunk in chunks} == {"Setext Title"}
    escaped = chunk_document(pages_document(["\\# not a heading\n\nBody text."], "docx"))
    assert escaped[0].heading is None


def test_plain_text_has_no_headings():
    chunks = chunk_document(extract(samples.speech_txt(), samples.SPEECH_FILENAME))
    assert [(chunk.heading, chunk.page_start, chunk.page_end) for chunk in chunks] == [(None, 1, 1)]
    assert chunks[0].text == extract(samples.speech_txt(), "s.txt").pages[0].text


def test_short_documents_are_one_chunk():
    for sample in samples.SAMPLE_DOCUMENTS[1:]:
        document = extract(sample.build(), sample.filename)
        chunks = chunk_document(document)
        assert len(chunks) == 1
        assert (chunks[0].page_start, chunks[0].page_end) == (1, document.pages[-1].number)


def test_chunking_is_deterministic(report, report_chunks):
    assert chunk_document(report) == report_chunks
    assert chunk_document(extract(samples.pdf_bytes(samples.report_pages(30)), "again.pdf")) == report_chunks


def test_text_without_words_gives_no_chunks():
    assert chunk_document(pages_document(["---\n\n* * *\n\n- "], "markdown")) == []
    assert chunk_document(ExtractedDocument("text", [], None, 0)) == []


def test_a_sentence_longer_than_a_chunk_is_cut_at_words():
    text = " ".join(f"word{n}" for n in range(3000))
    chunks = chunk_document(pages_document([text], "text"))
    assert len(chunks) > 2 and all(fits(chunk.text, MAX_TOKENS) for chunk in chunks)
    assert all(re.fullmatch(r"word\d+( word\d+)*", chunk.text) for chunk in chunks)


def test_sizes_are_configurable():
    chunks = chunk_document(pages_document(samples.report_pages(6)), min_tokens=100, max_tokens=200, overlap_tokens=20)
    assert len(chunks) > 10 and all(fits(chunk.text, 200) for chunk in chunks)
    with pytest.raises(ValueError):
        chunk_document(pages_document(["x"]), min_tokens=100, max_tokens=120, overlap_tokens=20)
    with pytest.raises(ValueError):
        chunk_document(pages_document(["x"]), min_tokens=50, max_tokens=800, overlap_tokens=50)


def test_control_characters_never_reach_a_chunk():
    data = samples.text_bytes("Turnout\x07 memo.\x1b\n\nThe\u200b canvass\x7f is on.\ufeff")
    chunk = chunk_document(extract(data, "memo.txt"))[0]
    assert chunk.text == "Turnout memo.\n\nThe canvass is on."
