"""Document extraction on generated files: the type read from the bytes, text by page, titles, and every reason a
file is refused."""

from __future__ import annotations

import io
import pickle
import re
import zipfile

import pytest

from tests import document_samples as samples
from warroom.documents import extract as extract_module
from warroom.documents.extract import (
    ExtractedDocument,
    UnreadableDocument,
    extract,
    markdown_headings,
    normalise_text,
    sniff_type,
)


def reason_of(data: bytes, filename: str, **options) -> str:
    with pytest.raises(UnreadableDocument) as caught:
        extract(data, filename, **options)
    assert str(caught.value) == caught.value.message and caught.value.message
    return caught.value.reason


def words(text: str) -> list[str]:
    """The words of a page, without the light Markdown extraction adds or the samples' markup."""
    return re.findall(r"[\w$%,.'\"]+", re.sub(r"^(#+|-) ", "", text, flags=re.MULTILINE))


# --- the type comes from the bytes --------------------------------------------------------------------------------


@pytest.mark.parametrize("filename", ["briefing.pdf", "briefing.txt", "briefing.md", "briefing.docx", "briefing"])
def test_a_pdf_is_a_pdf_whatever_its_name(filename):
    assert sniff_type(samples.briefing_book_pdf(), filename) == "pdf"


def test_a_pdf_with_bytes_before_its_header_is_still_a_pdf():
    # Readers accept junk before %PDF- in the first kilobyte (mail gateways and old generators add some).
    assert sniff_type(b"\r\n" * 100 + samples.briefing_book_pdf(), "memo") == "pdf"


@pytest.mark.parametrize("filename", ["memo.docx", "memo.pdf", "memo.zip", "memo"])
def test_a_word_document_is_docx_whatever_its_name(filename):
    assert sniff_type(samples.polling_memo_docx(), filename) == "docx"


@pytest.mark.parametrize(
    ("filename", "expected"),
    [
        ("oppo.md", "markdown"),
        ("OPPO.MARKDOWN", "markdown"),
        ("oppo.txt", "text"),
        ("oppo", "text"),
        ("oppo.pdf", "text"),  # text bytes are text: the name only chooses between Markdown and plain text
    ],
)
def test_text_is_markdown_or_plain_text_by_its_name(filename, expected):
    assert sniff_type(samples.opposition_research_md(), filename) == expected


def test_text_may_start_with_a_byte_order_mark_or_be_utf16_with_one():
    assert sniff_type(samples.text_bytes("Turnout is up.", bom=True), "a.txt") == "text"
    assert sniff_type("\ufeffTurnout is up in Peña County.".encode("utf-16-le"), "a.txt") == "text"
    document = extract("\ufeffTurnout is up in Peña County.".encode("utf-16-le"), "a.txt")
    assert document.pages[0].text == "Turnout is up in Peña County."
    assert extract(samples.markdown_bytes("# Memo\n\nBody.", bom=True), "m.md").pages[0].text == "# Memo\n\nBody."


@pytest.mark.parametrize(
    ("data", "filename", "message"),
    [
        (samples.png_bytes(), "scan.pdf", "PNG image"),
        (b"\xff\xd8\xff\xe0" + bytes(64), "photo.docx", "JPEG image"),
        (samples.zip_bytes(), "budget.docx", "Excel workbook"),
        (samples.zip_bytes({"ppt/presentation.xml": b"<p/>"}), "deck.docx", "PowerPoint"),
        (samples.zip_bytes({"readme.txt": b"hello"}), "archive.docx", "not a Word document"),
        (samples.legacy_doc_bytes(), "old.doc", "legacy Office"),
        (b"{\\rtf1\\ansi Turnout memo}", "memo.txt", "RTF"),
        (b"Turnout\x00memo" * 10, "memo.txt", "not a PDF, DOCX, or UTF-8 text"),
        ("Peña County turnout".encode("latin-1"), "memo.txt", "not a PDF, DOCX, or UTF-8 text"),
        (bytes(range(1, 32)) * 10 + b"text", "memo.txt", "not a PDF, DOCX, or UTF-8 text"),
    ],
)
def test_anything_else_is_an_unsupported_type(data, filename, message):
    with pytest.raises(UnreadableDocument) as caught:
        sniff_type(data, filename)
    assert caught.value.reason == "unsupported_type"
    assert message in caught.value.message


def test_a_macro_enabled_word_file_is_an_unsupported_type():
    content_types = (
        b'<Types><Override PartName="/word/document.xml" '
        b'ContentType="application/vnd.ms-word.document.macroEnabled.main+xml"/></Types>'
    )
    data = samples.zip_bytes({"[Content_Types].xml": content_types, "word/document.xml": b"<w:document/>"})
    with pytest.raises(UnreadableDocument, match=r"\.docm") as caught:
        sniff_type(data, "macros.docx")
    assert caught.value.reason == "unsupported_type"


def test_a_password_protected_word_file_is_encrypted():
    assert reason_of(samples.encrypted_docx_bytes(), "locked.docx") == "encrypted"


def test_a_broken_zip_named_docx_is_corrupt_and_unnamed_unsupported():
    broken = samples.polling_memo_docx()[:200]
    assert reason_of(broken, "memo.docx") == "corrupt"
    assert reason_of(broken, "memo.bin") == "unsupported_type"


@pytest.mark.parametrize("data", [b"", b"   \n\t\r\n  "])
def test_an_empty_file_is_empty(data):
    assert reason_of(data, "notes.txt") == "empty"


def test_the_reason_survives_pickling():
    # A Lambda error may be serialised on its way to the caller; the reason must come with it.
    error = pickle.loads(pickle.dumps(UnreadableDocument("encrypted", "locked")))
    assert (error.reason, error.message, isinstance(error, ValueError)) == ("encrypted", "locked", True)


# --- PDF ---------------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def briefing_book() -> ExtractedDocument:
    return extract(samples.briefing_book_pdf(), samples.BRIEFING_BOOK_FILENAME)


def test_a_pdf_has_its_pages_numbered_from_one_and_its_metadata_title(briefing_book):
    assert briefing_book.type == "pdf"
    assert briefing_book.title == samples.BRIEFING_BOOK_TITLE
    assert briefing_book.page_count == 8
    assert [page.number for page in briefing_book.pages] == list(range(1, 9))


def test_a_pdf_page_holds_exactly_the_words_of_that_page(briefing_book):
    for page, source in zip(briefing_book.pages, samples.BRIEFING_BOOK_PAGES, strict=True):
        assert words(page.text) == words(source), f"page {page.number}"


def test_pdf_headings_become_markdown_headings_by_their_size_and_weight(briefing_book):
    # 16 pt bold sections and 12 pt bold subsections over 10.5 pt body text: the levels of the source.
    def headings(pages):
        return [line for page in pages for line in page.split("\n") if line.startswith("#")]

    assert headings(page.text for page in briefing_book.pages) == headings(samples.BRIEFING_BOOK_PAGES)
    assert len(headings(samples.BRIEFING_BOOK_PAGES)) == 16


def test_pdf_lines_are_reflowed_into_the_paragraphs_of_the_source(briefing_book):
    page = briefing_book.pages[1]
    source_blocks = [block for block in samples.BRIEFING_BOOK_PAGES[1].split("\n\n") if block.strip()]
    assert len(page.text.split("\n\n")) == len(source_blocks)
    assert "\n" not in page.text.split("\n\n")[1]  # one paragraph, its visual lines joined
    assert page.text.endswith("The fund would be financed by")
    assert briefing_book.pages[2].text.startswith("redirecting unspent federal relief dollars")


def test_pdf_list_items_become_markdown_list_items(briefing_book):
    items = [line for line in briefing_book.pages[7].text.split("\n") if line.startswith("- ")]
    assert len(items) == 7
    assert items[0] == "- Rural hospitals closed since 2015: 14 (nine under Governor Kane)."


def test_a_dash_starting_a_wrapped_line_is_no_list_item_unless_a_sentence_ended():
    document = extract(
        samples.pdf_bytes(
            ["The plan is simple\n- and it is paid for. Three steps follow.\n- Cap insulin.\n- Fund clinics."]
        ),
        "a.pdf",
    )
    assert (
        document.pages[0].text
        == "The plan is simple - and it is paid for. Three steps follow.\n\n- Cap insulin.\n- Fund clinics."
    )


def test_a_word_hyphenated_across_a_line_break_is_joined():
    document = extract(
        samples.pdf_bytes(["The Rural Hospital Stabiliza-\ntion Fund keeps doors open in a well-\nKnown town."]),
        "a.pdf",
    )
    assert document.pages[0].text == "The Rural Hospital Stabilization Fund keeps doors open in a well-Known town."


def test_running_footers_and_page_numbers_are_dropped():
    pages = samples.report_pages(4, run_on=False)
    with_footer = extract(
        samples.pdf_bytes(pages, footer="Confidential - Marsh for Governor - Page {page} of 4"), "r.pdf"
    )
    with_numbers = extract(samples.pdf_bytes(pages, footer="{page}"), "r.pdf")
    plain = extract(samples.pdf_bytes(pages), "r.pdf")
    assert with_footer.pages == plain.pages
    assert with_numbers.pages == plain.pages


def test_a_pdf_without_a_metadata_title_is_named_by_its_first_heading():
    assert extract(samples.pdf_bytes(["# Debate Prep Notes\n\nOpen with the insulin veto."]), "a.pdf").title == (
        "Debate Prep Notes"
    )
    assert extract(samples.pdf_bytes(["Open with the insulin veto."]), "a.pdf").title is None


def test_a_word_export_title_naming_the_file_is_cleaned():
    data = samples.pdf_bytes(["Open with the insulin veto."], title="Microsoft Word - Debate Prep.docx")
    assert extract(data, "a.pdf").title == "Debate Prep"


def test_pages_without_text_are_left_out_but_counted():
    document = extract(samples.pdf_bytes(["First page.", "", "Third page."]), "a.pdf")
    assert [(page.number, page.text) for page in document.pages] == [(1, "First page."), (3, "Third page.")]
    assert document.page_count == 3


def test_a_pdf_that_asks_for_a_password_is_encrypted():
    assert reason_of(samples.encrypted_pdf_bytes("s3cret"), "locked.pdf") == "encrypted"


def test_a_pdf_with_only_an_owner_password_is_read():
    # Decision: every viewer opens it without a prompt, so it is no secret from whoever uploaded it.
    document = extract(samples.encrypted_pdf_bytes(""), "restricted.pdf")
    assert document.pages[0].text.startswith("# Locked Memo")


@pytest.mark.parametrize("data", [samples.corrupt_pdf_bytes(), samples.truncated_pdf_bytes()])
def test_a_pdf_that_cannot_be_parsed_is_corrupt(data):
    assert reason_of(data, "broken.pdf") == "corrupt"


def test_a_scanned_pdf_has_no_text_layer():
    assert reason_of(samples.scanned_pdf_bytes(), "scan.pdf") == "no_text_layer"


def test_a_pdf_of_blank_pages_is_empty():
    assert reason_of(samples.blank_pdf_bytes(3), "blank.pdf") == "empty"


def test_a_pdf_longer_than_max_pages_is_refused_before_it_is_read():
    data = samples.many_pages_pdf_bytes(6)
    assert reason_of(data, "long.pdf", max_pages=5) == "too_many_pages"
    assert extract(data, "long.pdf", max_pages=6).page_count == 6


# --- DOCX --------------------------------------------------------------------------------------------------------


def test_a_docx_has_its_core_title_heading_styles_tables_and_lists():
    document = extract(samples.polling_memo_docx(), samples.POLLING_MEMO_FILENAME)
    assert (document.type, document.title, document.page_count) == ("docx", samples.POLLING_MEMO_TITLE, 2)
    first, second = (page.text for page in document.pages)
    assert first.startswith("# Statewide Survey Findings\n\nTo: Elena Marsh")
    assert "\n\n## Topline\n\n" in first
    assert "Ballot | January | March\nMarsh | 46% | 48%\nKane | 44% | 44%\nUndecided | 10% | 8%" in first
    assert "conducted March 3\u20136" in first and "\u201cNobody should have to drive an hour" in second
    assert second.startswith("## Issues")
    assert second.endswith(
        "- Make the insulin cap the centerpiece of the first debate; it wins with every subgroup.\n"
        "- Hold the governor to his 2023 veto; 58 percent say it makes them less likely to support him."
    )


def test_a_docx_without_a_core_title_is_named_by_its_first_heading():
    assert extract(samples.docx_bytes(["Draft.", "# Rapid Response Plan", "Body."]), "a.docx").title == (
        "Rapid Response Plan"
    )
    assert extract(samples.docx_bytes(["Draft only."]), "a.docx").title is None


def test_docx_pages_break_at_hard_and_rendered_page_breaks_once_each():
    hard, rendered = samples.PAGE_BREAK, samples.RENDERED_BREAK

    def pages(blocks):
        document = extract(samples.docx_bytes(blocks), "a.docx")
        return [(page.number, page.text) for page in document.pages], document.page_count

    assert pages(["One.", hard, "Two."]) == ([(1, "One."), (2, "Two.")], 2)
    assert pages(["One.", rendered, "Two.", rendered, "Three."]) == ([(1, "One."), (2, "Two."), (3, "Three.")], 3)
    # Word marks the page a hard break began with a rendered break too: one page boundary, not two.
    assert pages(["One.", hard, rendered, "Two."]) == ([(1, "One."), (2, "Two.")], 2)


def test_a_docx_paragraph_that_looks_like_a_heading_is_escaped():
    document = extract(samples.docx_bytes(["Body first.", "Plain # sign.", "#1 priority: turnout."]), "a.docx")
    assert document.pages[0].text == "Body first.\n\nPlain # sign.\n\n#1 priority: turnout."
    import docx

    word = docx.Document()
    word.add_paragraph("# not a heading, a pasted hashtag line")
    out = io.BytesIO()
    word.save(out)
    assert extract(out.getvalue(), "a.docx").pages[0].text == "\\# not a heading, a pasted hashtag line"


def test_a_docx_without_text_is_empty():
    assert reason_of(samples.docx_bytes([]), "blank.docx") == "empty"


def test_a_docx_whose_body_is_not_xml_is_corrupt():
    original = zipfile.ZipFile(io.BytesIO(samples.polling_memo_docx()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as broken:
        for item in original.infolist():
            content = b"<w:document" if item.filename == "word/document.xml" else original.read(item)
            broken.writestr(item, content)
    assert reason_of(out.getvalue(), "memo.docx") == "corrupt"


def test_a_docx_that_unzips_too_large_is_refused(monkeypatch):
    monkeypatch.setattr(extract_module, "MAX_UNZIPPED_BYTES", 10_000)
    assert reason_of(samples.polling_memo_docx(), "bomb.docx") == "too_large"


def test_a_docx_longer_than_max_pages_is_refused():
    blocks = [block for n in range(4) for block in (f"Page {n + 1}.", samples.PAGE_BREAK)][:-1]
    assert reason_of(samples.docx_bytes(blocks), "long.docx", max_pages=3) == "too_many_pages"


# --- Markdown and plain text --------------------------------------------------------------------------------------


def test_markdown_is_one_page_titled_by_its_first_level_one_heading():
    document = extract(samples.opposition_research_md(), samples.OPPOSITION_RESEARCH_FILENAME)
    assert (document.type, document.title, [page.number for page in document.pages]) == (
        "markdown",
        samples.OPPOSITION_RESEARCH_TITLE,
        [1],
    )
    assert "On José Ramírez, the whistleblower" in document.pages[0].text


@pytest.mark.parametrize(
    ("text", "title"),
    [
        ("Intro line.\n\n## Sub\n\n# **The Real Title** #\n\nBody.", "The Real Title"),
        ("Setext Title\n============\n\nBody.", "Setext Title"),
        ("```python\n# not a title\n```\n\nBody.", None),
        ("## Only a subheading\n\nBody.", None),
    ],
)
def test_markdown_titles(text, title):
    assert extract(samples.markdown_bytes(text), "m.md").title == title


def test_markdown_keeps_its_indentation():
    text = "# Plan\n\n- item\n    - nested   item\n\n    code  block"
    assert (
        extract(samples.markdown_bytes(text), "m.md").pages[0].text
        == "# Plan\n\n- item\n    - nested item\n\n    code block"
    )


def test_markdown_headings_are_found_with_their_offsets_and_levels():
    text = "# Plan\n\nIntro.\n\nField Work\n----------\n\n```\n# comment\n```\n\n- item\n---\n\n### Deep **one** ###"
    assert markdown_headings(text) == [(0, 1, "Plan"), (16, 2, "Field Work"), (text.index("###"), 3, "Deep one")]


def test_plain_text_is_split_into_pages_at_form_feeds():
    document = extract(samples.text_bytes("Page one.\fPage two.\f\fPage four."), "transcript.txt")
    assert [(page.number, page.text) for page in document.pages] == [
        (1, "Page one."),
        (2, "Page two."),
        (4, "Page four."),
    ]
    assert (document.type, document.title, document.page_count) == ("text", None, 4)
    assert reason_of(samples.text_bytes("a\fb\fc"), "t.txt", max_pages=2) == "too_many_pages"


def test_control_characters_and_stray_spaces_are_removed_from_text():
    data = samples.text_bytes(
        "Turnout\x07 is\tup \x1b in\u00a0\u00a0Pike\u200b County.\r\n\r\n\r\n\r\nCall  the  desk.\x7f"
    )
    assert extract(data, "t.txt").pages[0].text == "Turnout is up in Pike County.\n\nCall the desk."


def test_normalise_text():
    assert normalise_text("a\x00b\x01c \u00ad\ufeffd\u2028e\u2029f") == "abc d\ne\n\nf"
    assert normalise_text("  lead  and  trail  \n\n\n\n  next ") == "lead and trail\n\nnext"
    assert normalise_text("\ufb01nance \u2460", form="NFKC") == "finance 1"
    assert normalise_text("\ufb01nance") == "\ufb01nance"  # NFC keeps what the author typed
    assert normalise_text("  - a  b", keep_indent=True) == "  - a b"


def test_extraction_is_deterministic():
    for sample in samples.SAMPLE_DOCUMENTS:
        assert extract(sample.build(), sample.filename) == extract(sample.build(), sample.filename)


@pytest.mark.parametrize("sample", samples.SAMPLE_DOCUMENTS, ids=lambda sample: sample.filename)
def test_every_campaign_sample_is_read_with_its_type_and_title(sample):
    document = extract(sample.build(), sample.filename)
    assert (document.type, document.title) == (sample.type, sample.title)
    for probe in samples.SEARCH_PROBES:
        if probe.filename == sample.filename:
            page = next(page for page in document.pages if page.number == probe.page)
            assert probe.phrase in page.text
