# ruff: noqa: RUF001 -- the DOCX and Markdown samples carry typographic quotes and dashes on purpose
"""Sample campaign documents as bytes, for the document tests of every layer (unit, integration, end-to-end).

Example
-------
>>> from tests import document_samples as samples
>>> data = samples.briefing_book_pdf()                       # 8 pages, headings, a paragraph across pages 2-3
>>> samples.pdf_bytes(["# Budget\\n\\nThe deficit...", "page two"], title="Memo")
>>> samples.docx_bytes(["# Topline", "Voters say...", PAGE_BREAK, [["Q", "Yes"], ["Q1", "52%"]]], title="Poll")
>>> filename, data = samples.SAMPLE_DOCUMENTS[0].filename, samples.SAMPLE_DOCUMENTS[0].build()

Builders take a small markup shared by PDF and DOCX: a block starting ``# `` is a heading, ``## `` a
subheading, ``- `` a bullet; other blocks are paragraphs (blank lines separate blocks in a PDF page string; a
``\\n`` inside a paragraph forces a line break there, which is how a hyphenated line break is written); in a
DOCX, :data:`PAGE_BREAK` is a hard page break and :data:`RENDERED_BREAK` Word's record of a laid-out one.

The four campaign documents (a healthcare briefing book as PDF, a polling memo as DOCX, an opposition research
note as Markdown, a speech as plain text) hold distinctive facts; :data:`SEARCH_PROBES` lists, for each, an exact
phrase, a reworded question a staffer might ask, and where the answer is, so search tests can check both ways.
Files for every refusal reason (``encrypted_pdf_bytes``, ``corrupt_pdf_bytes``, ``scanned_pdf_bytes``,
``encrypted_docx_bytes``, ``png_bytes``, ...) and a long generated report (:func:`report_pages`, every sentence
different, pages that run on) are here too. PDF text stays Latin-1: fpdf2's core fonts cannot draw anything
else, and it ships no Unicode font (embedding a system DejaVu would make the samples depend on the machine). The
DOCX and Markdown samples carry Unicode.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import struct
import zipfile
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass

PAGE_BREAK = "\f"  # a hard page break
RENDERED_BREAK = "\v"  # DOCX only: where Word's layout began a page (at the start of the next paragraph)
Block = str | list[list[str]]  # a paragraph/heading/bullet, PAGE_BREAK, or a table's rows


# --- the campaign documents -------------------------------------------------------------------------------------

BRIEFING_BOOK_TITLE = "Healthcare Policy Briefing Book"
BRIEFING_BOOK_FILENAME = "healthcare-briefing-book.pdf"
BRIEFING_BOOK_PAGES: list[str] = [
    # page 1
    """# Healthcare Policy Briefing Book

Prepared for Elena Marsh for Governor by the policy office. Confidential draft for debate preparation, March 2026. \
Do not distribute outside the senior staff.

## Executive Summary

Healthcare is the second most important issue for likely voters in every poll we have fielded this cycle, \
behind only the cost of living, and it is the issue on which Elena holds her widest lead over Governor Richard \
Kane. Voters do not talk about healthcare in the language of policy papers. They talk about the hospital that \
closed, the prescription they split in half to make it last, and the months they waited to see a counselor for \
a teenager in crisis.

This book gives the candidate four commitments to carry into the debates: keep rural hospitals open, cap what \
families pay for insulin and other essential drugs, finish the job of Medicaid expansion, and put a mental health \
crisis team within reach of every county. Each section sets out the problem in plain numbers, the plan, what it \
costs and how it is paid for, the strongest attack we expect, and the answer to it.

The through-line for every answer is the same: Richard Kane had eight years to fix these problems and made each \
of them worse, while Elena ran a county health department and kept a clinic open with a smaller budget than the \
governor spends on consultants.""",
    # page 2
    """# Rural Hospital Closures

Fourteen rural hospitals have closed since 2015, more than in any neighboring state, and nine of those closures \
happened on Governor Kane's watch. Another eleven hospitals are operating with less than thirty days of cash on \
hand. When a rural hospital closes, the nearest emergency room is on average 38 miles farther away, and for a \
heart attack or a difficult birth those miles are measured in lives.

The closures are not an accident of geography. Rural hospitals treat older and poorer patients, and a large share \
of their revenue comes from Medicaid and Medicare, which pay less than private insurance. The state's refusal to \
fully expand Medicaid left those hospitals carrying the cost of uninsured patients who arrive at the emergency \
room with nowhere else to go. Uncompensated care at the smallest hospitals now runs above twelve percent of their \
operating budgets.

Mercy Community Hospital in Harlan County shows what is at stake. It closed its labor and delivery unit in \
2024 after losing its last two obstetricians, and expectant mothers in the eastern half of the county now drive \
52 miles to Riverside General, over a mountain road that closes several times each winter. Ambulance crews \
report three roadside deliveries since the unit closed.

## The Plan: the Rural Hospital Stabilization Fund

Elena will create a Rural Hospital Stabilization Fund of $180 million over four years. Hospitals with fewer than \
fifty beds that commit to keeping their emergency departments and labor and delivery units open would receive \
bridge grants, technical help from the state's university health system, and priority for telehealth \
equipment. In exchange, each hospital would publish its prices and its finances every quarter.

The fund would be financed by""",
    # page 3
    """redirecting unspent federal relief dollars that the Kane administration has left sitting in reserve accounts \
for two years, and by closing the out-of-state consultant contracts in the Department of Health, which cost \
taxpayers $41 million last year alone. No new taxes are required.

Nobody should have to drive an hour to deliver a baby. That sentence, in Elena's own words from the Harlan \
County town hall, tested better than any other line on healthcare in our message research.

# Prescription Drug Prices

One in four adults in the state reports skipping doses or leaving a prescription unfilled because of cost. The \
price of the most common insulin has tripled in a decade even though the drug itself is a hundred years old, and \
seniors on fixed incomes are choosing between their medicine and their groceries.

Elena's plan sets an insulin copay cap of $35 per month for every state-regulated insurance plan, and creates a \
Prescription Drug Affordability Board with the power to set upper payment limits on the twenty drugs that cost \
state residents the most. Colorado, Maryland and Washington have passed similar boards, and the cap alone would \
save a typical family managing diabetes more than $1,100 a year.

The pharmacy benefit managers who sit between insurers and drug makers will be required to pass rebates on to \
patients at the counter. Today those middlemen keep the discounts and the patients pay the list price.""",
    # page 4
    """# Medicaid Expansion

The state is one of only a handful that never fully expanded Medicaid. Finishing the expansion would extend \
coverage to roughly 210,000 working adults: home health aides, cooks, farm workers and cashiers who earn too much \
for the old program and too little to afford a plan on the exchange.

Two thirds of the adults in the coverage gap work, most of them for small businesses that do not offer health \
insurance. More than half live in rural counties, which is why the hospitals there carry the heaviest burden of \
unpaid bills. A single mother with two children who earns $28,000 a year makes too much for the current program \
and gets no help on the exchange until her income rises.

The federal government pays ninety percent of the cost of the expansion population. Every year the state waits, \
it sends its own taxpayers' federal dollars to other states. Independent estimates from the state university put \
the net cost to the state budget near zero once savings in uncompensated care, corrections health and mental \
health services are counted.

## Work Requirements

Governor Kane has proposed work requirements as the price of any expansion. Where those rules were tried, \
thousands of people who were already working lost coverage because of paperwork, and the administrative cost of \
checking compliance exceeded the savings. Elena's answer: most people who can work already do, and a program \
should not be designed to lose the paperwork of the people it is meant to cover.

## Talking Points

- Finishing Medicaid expansion brings our own federal tax dollars home.
- It keeps rural hospitals open by covering patients who now arrive uninsured.
- It covers the people who keep this state running: the aides, the cooks and the cashiers.""",
    # page 5
    """# Mental Health and Addiction

The wait for a first appointment with a child psychiatrist in the state averages eleven weeks, and in thirty \
counties there is no licensed child psychiatrist at all. Overdose deaths fell slightly last year but remain \
nearly double their level of a decade ago, and emergency rooms have become the default destination for people in \
a mental health crisis.

Elena will fund mobile crisis teams in every county, staffed by a counselor and a paramedic who can respond to a \
call to the 988 crisis line within an hour, and will pay for them with the state share of the opioid settlement \
money, which the current administration has spent on a public relations campaign and a new office building.

Calls to the 988 crisis line from the state rose by forty percent in its first two years, but two thirds of \
those calls are still routed to centers in other states because the state never funded its own call centers. \
A caller in crisis should reach a counselor who knows the local services, not a stranger reading a directory.

She will also require insurers to cover mental health care on the same terms as physical health care, enforcing \
the parity law that is already on the books but has never produced a single penalty against an insurer. School \
counselors will be funded at one for every 250 students, the ratio recommended by the professional association.

The story to tell is the Reyes family of Pike County, whose son waited nine hours in an emergency room hallway \
for a psychiatric bed. Mrs. Reyes has agreed to appear with Elena and to be named.""",
    # page 6
    """# The Opponent's Healthcare Record

Governor Kane voted four times to cut the Medicaid budget when he was in the state senate, and as governor he \
vetoed the bipartisan insulin bill in 2023 after the legislature passed it with a two-thirds majority. His veto \
message called the cap "a price control that will drive drug makers out of the state market." No drug maker left \
any state that passed a cap.

He accepted more than $600,000 in campaign contributions from pharmaceutical companies and pharmacy benefit \
managers over his two campaigns, and his former chief of staff now lobbies for the largest pharmacy benefit \
manager operating in the state.

During the 2024 budget session, the Kane administration moved $23 million out of the rural health program to \
cover a shortfall in the highway fund. Three of the hospitals that closed afterwards had applied for grants from \
that program and were told no money was left.

In his first campaign Kane promised a "Healthy State" plan within a hundred days of taking office. No plan was \
ever published. The task force he appointed met twice, and its chair, a former insurance executive, resigned \
after a newspaper reported that the draft recommendations had been written by an industry trade group.

Use the record carefully. Voters respond to the veto and to the hospital closures; they do not respond to \
contribution totals unless the contribution is tied to a decision that cost them money.""",
    # page 7
    """# Anticipated Attacks and Responses

## "Socialized medicine"

Expect Kane to call the Medicaid expansion and the affordability board socialized medicine. Response: this plan \
keeps private doctors, private hospitals and private insurance exactly where they are. It makes sure the people \
who already pay for the system through their federal taxes get to use it.

## "It will raise your taxes"

Response: the plan requires no new state taxes. The rural fund is paid for with unspent relief dollars and the \
end of consultant contracts; the expansion is paid for by the federal government and by savings the state \
already spends on uncompensated care. Ask the governor why he is sending our federal dollars to other states.

## "She closed a clinic as county health director"

The Brookfield clinic was consolidated into the new county health center four miles away, which added evening \
hours, a dental office and a pharmacy. Patient visits rose by a third in the first year. Response: I did not \
close a clinic; I built a better one, and the patients voted with their feet.

## "Medicaid is full of fraud"

Response: fraud should be prosecuted, and as county health director Elena referred more fraud cases to the \
attorney general than the Kane administration has in four years. The answer to fraud is enforcement, not \
taking coverage away from a nurse's aide who did nothing wrong.""",
    # page 8
    """# Key Figures at a Glance

- Rural hospitals closed since 2015: 14 (nine under Governor Kane).
- Rural Hospital Stabilization Fund: $180 million over four years, no new taxes.
- Insulin copay cap: $35 per month; typical family saves more than $1,100 a year.
- Medicaid expansion: roughly 210,000 working adults covered; federal share ninety percent.
- Child psychiatrist wait: eleven weeks on average; none in thirty counties.
- Kane vetoed the insulin bill in 2023 after a two-thirds vote of the legislature.
- Opioid settlement money to fund mobile crisis teams in every county.

Prepared by the policy office. Figures checked against the state hospital association, the state university \
health policy center and the legislative fiscal office, February 2026.""",
]

POLLING_MEMO_TITLE = "Statewide Survey Findings"
POLLING_MEMO_FILENAME = "polling-memo-march.docx"
POLLING_MEMO_BLOCKS: list[Block] = [
    "# Statewide Survey Findings",
    "To: Elena Marsh for Governor campaign leadership. From: Brennan & Oyelaran Research. Re: March tracking "
    "survey of 800 likely voters, conducted March 3–6 by phone and text-to-web; margin of error ±3.5 points.",
    "## Topline",
    "Elena leads Governor Kane 48 percent to 44 percent on the initial ballot, with 8 percent undecided. That is "
    "a two-point gain since the January survey, driven almost entirely by independent women in the suburban "
    "counties, who moved from an even split to a nine-point Marsh advantage.",
    "The governor’s job approval stands at 43 percent approve and 51 percent disapprove, the first time his "
    "disapproval has crossed fifty in our tracking. Voters who disapprove cite the cost of living first and the "
    "hospital closures second.",
    [
        ["Ballot", "January", "March"],
        ["Marsh", "46%", "48%"],
        ["Kane", "44%", "44%"],
        ["Undecided", "10%", "8%"],
    ],
    PAGE_BREAK,
    "## Issues",
    "Healthcare costs rank as the top concern for 31 percent of voters over 65 and for 22 percent of all likely "
    "voters. After hearing both sides, 61 percent support capping insulin copays at $35 a month, including a "
    "majority of Republicans, making it the single most popular proposal we tested this cycle.",
    "Message testing: the line “Nobody should have to drive an hour to deliver a baby” moved undecided voters "
    "more than any other healthcare message, by a net eleven points among rural undecideds.",
    "## Recommendations",
    "- Lead paid media in the rural markets with the hospital closures and the stabilization fund.",
    "- Make the insulin cap the centerpiece of the first debate; it wins with every subgroup.",
    "- Hold the governor to his 2023 veto; 58 percent say it makes them less likely to support him.",
]

OPPOSITION_RESEARCH_TITLE = "Opposition Research: Governor Richard Kane"
OPPOSITION_RESEARCH_FILENAME = "oppo-kane-highway-contracts.md"
OPPOSITION_RESEARCH_MD = """\
# Opposition Research: Governor Richard Kane

*Internal — not for distribution. Compiled by the research desk; every claim is sourced in the appendix.*

## Highway Contracts and the Donor Network

In 2022 the state Department of Transportation awarded a $212 million no-bid contract for the Route 9 corridor \
to Keystone Paving Group, whose founder hosted two fundraisers for Kane that year. The contract was signed eleven \
days after the second fundraiser. Keystone had no prior experience with a project of that size, and the \
corridor is now fourteen months behind schedule.

Keystone’s chief financial officer, Dana Whitlock, and her spouse gave a combined $48,600 to Kane’s campaign and \
the Republican Governors Association affiliate during the bidding period. State ethics rules required a \
disclosure that was filed nine months late.

## The Rural Health Transfer

During the 2024 budget session the administration moved **$23 million** out of the rural health program to \
cover a shortfall in the highway fund. Internal emails obtained through a public records request show the budget \
director warning that “the transfer will leave the rural grants unfunded for the fiscal year.” Three hospitals \
that later closed had pending applications.

## Public Statements

- On the insulin veto (2023): “a price control that will drive drug makers out of the state market.”
- On hospital closures, Channel 6 interview: “Some of these hospitals were never viable.”
- On José Ramírez, the whistleblower at the DOT: declined to comment, then called the complaint “politics.”

## Vulnerabilities Ranked

1. The no-bid Route 9 contract and the fundraiser timing.
2. Moving rural health money into the highway fund before three hospitals closed.
3. The “never viable” remark, which tests as his most damaging quote in rural counties.
"""

SPEECH_TITLE = None
SPEECH_FILENAME = "speech-harlan-county-town-hall.txt"
SPEECH_TEXT = """\
Thank you, Harlan County. Thank you for coming out on a school night, and thank you to the nurses from Mercy \
Community Hospital who drove in after a double shift to be here.

I want to start with a story. Last spring I met a young mother named Kayla in the parking lot of the hospital \
that used to stand on Main Street. She told me that when her labor started, the closest place to deliver was an \
hour and ten minutes away, over the mountain, in the snow. She made it. Her daughter is fine. But she should \
never have had to make that drive.

Nobody should have to drive an hour to deliver a baby. Not in Harlan County, not anywhere in this state.

For eight years Richard Kane has told us there is nothing a governor can do when a hospital closes. He is wrong. \
A governor can stop taking money out of the rural health program to patch the highway fund. A governor can \
bring home the federal dollars we already pay for. And a governor can stand up to the drug companies instead of \
vetoing a bill that would have capped the price of insulin.

Here is what I will do. On my first day I will send the legislature a Rural Hospital Stabilization Fund, paid \
for without a single new tax, to keep emergency rooms and delivery rooms open in every county that still has \
one. I will sign the insulin cap that Richard Kane vetoed. And I will finish the job of Medicaid expansion, so \
the people who care for our parents and serve our food can see a doctor too.

They will tell you we cannot afford it. I ran the health department in this county with less money than the \
governor spends on consultants, and we kept the clinic open. Do not let anyone tell you it cannot be done. We \
have done it before, right here, and together we are going to do it again.

Thank you, and God bless Harlan County.
"""


@dataclass(frozen=True)
class SampleDocument:
    filename: str
    build: Callable[[], bytes]
    type: str  # the DocumentType extraction must find
    title: str | None


@dataclass(frozen=True)
class SearchProbe:
    """Where a fact lives: search tests look for it by ``phrase`` (verbatim) and by ``question`` (reworded)."""

    filename: str
    phrase: str
    question: str
    page: int
    heading: str | None  # the section it is in (a chunk holding it may begin under an earlier heading)


@functools.cache  # (bytes: immutable, and fpdf2 takes a while)
def briefing_book_pdf() -> bytes:
    return pdf_bytes(BRIEFING_BOOK_PAGES, title=BRIEFING_BOOK_TITLE)


@functools.cache
def polling_memo_docx() -> bytes:
    return docx_bytes(POLLING_MEMO_BLOCKS, title=POLLING_MEMO_TITLE)


@functools.cache
def opposition_research_md() -> bytes:
    return markdown_bytes(OPPOSITION_RESEARCH_MD)


@functools.cache
def speech_txt() -> bytes:
    return text_bytes(SPEECH_TEXT)


SAMPLE_DOCUMENTS: list[SampleDocument] = [
    SampleDocument(BRIEFING_BOOK_FILENAME, briefing_book_pdf, "pdf", BRIEFING_BOOK_TITLE),
    SampleDocument(POLLING_MEMO_FILENAME, polling_memo_docx, "docx", POLLING_MEMO_TITLE),
    SampleDocument(OPPOSITION_RESEARCH_FILENAME, opposition_research_md, "markdown", OPPOSITION_RESEARCH_TITLE),
    SampleDocument(SPEECH_FILENAME, speech_txt, "text", SPEECH_TITLE),
]

SEARCH_PROBES: list[SearchProbe] = [
    SearchProbe(
        BRIEFING_BOOK_FILENAME,
        "Fourteen rural hospitals have closed since 2015",
        "How many hospitals in the countryside have shut down?",
        2,
        "Rural Hospital Closures",
    ),
    SearchProbe(
        BRIEFING_BOOK_FILENAME,
        "insulin copay cap of $35 per month",
        "What is our proposal to limit what diabetics pay for their medicine?",
        3,
        "Prescription Drug Prices",
    ),
    SearchProbe(
        BRIEFING_BOOK_FILENAME,
        "extend coverage to roughly 210,000 working adults",
        "How many people would gain health insurance if we expand the program for low-income adults?",
        4,
        "Medicaid Expansion",
    ),
    SearchProbe(
        BRIEFING_BOOK_FILENAME,
        "mobile crisis teams in every county",
        "How will we respond to people having a psychiatric emergency?",
        5,
        "Mental Health and Addiction",
    ),
    SearchProbe(
        BRIEFING_BOOK_FILENAME,
        "Brookfield clinic was consolidated",
        "What do we say if they attack her for shutting down a health center?",
        7,
        '"She closed a clinic as county health director"',
    ),
    SearchProbe(
        POLLING_MEMO_FILENAME,
        "48 percent to 44 percent on the initial ballot",
        "Who is ahead in the governor's race and by how much?",
        1,
        "Topline",
    ),
    SearchProbe(
        POLLING_MEMO_FILENAME,
        "61 percent support capping insulin copays",
        "How popular is limiting the cost of insulin with voters?",
        2,
        "Issues",
    ),
    SearchProbe(
        OPPOSITION_RESEARCH_FILENAME,
        "$212 million no-bid contract for the Route 9 corridor",
        "Did the governor give a road-building deal to a donor?",
        1,
        "Highway Contracts and the Donor Network",
    ),
    SearchProbe(
        SPEECH_FILENAME,
        "an hour and ten minutes away, over the mountain, in the snow",
        "What was the story about the mother who had to travel far to give birth?",
        1,
        None,
    ),
]


def report_pages(page_count: int, *, section_every: int = 3, run_on: bool = True) -> list[str]:
    """A long field report in the PDF markup: a ``# Region N`` section every ``section_every`` pages, four
    paragraphs a page of sentences that are all different (each names its own precinct, so a passage is found in
    exactly one place), and, with ``run_on``, each page's last sentence cut off and finished on the next page."""
    sentences = iter(range(1, 1_000_000))
    pages = []
    carry = ""
    for number in range(1, page_count + 1):
        blocks = [f"# Region {number // section_every + 1}"] if (number - 1) % section_every == 0 else []
        for paragraph in range(4):
            text = " ".join(_report_sentence(next(sentences)) for _ in range(5))
            if paragraph == 0 and carry:
                text = carry + " " + text
                carry = ""
            blocks.append(text)
        if run_on and number < page_count and number % section_every:  # (not into the next section)
            words = _report_sentence(next(sentences)).split()
            blocks[-1] += " " + " ".join(words[:6])
            carry = " ".join(words[6:])
        pages.append("\n\n".join(blocks))
    return pages


_SUBJECTS = ["Turnout among young voters", "Support for the school bond", "Early vote returns", "Volunteer sign-ups"]
_VERBS = ["rose", "fell", "held steady", "climbed"]
_CAUSES = ["the door-knocking weekend", "the televised debate", "the new mail program", "the rally downtown"]


def _report_sentence(n: int) -> str:
    return (
        f"{_SUBJECTS[n % 4]} in precinct {n} {_VERBS[n // 4 % 4]} by {n % 17 + 2} points after "
        f"{_CAUSES[n // 16 % 4]}, according to canvass sheet {1000 + n}."
    )


# --- builders ---------------------------------------------------------------------------------------------------


def pdf_bytes(
    pages: Sequence[str], title: str | None = None, *, author: str | None = None, footer: str | None = None
) -> bytes:
    """A text PDF (US Letter, Helvetica) with one page per string of ``pages``, in the markup of this module; an
    empty string is a blank page. ``footer`` (``{page}`` is replaced by the page number) is drawn at the foot of
    every page, as running footers are.

    Raises ``ValueError`` if a page's text does not fit on one page (page numbers in tests stay exact).
    """
    pdf = _new_pdf(title, author)
    for number, page in enumerate(pages, start=1):
        pdf.add_page()
        for block in _pdf_blocks(page):
            _draw_block(pdf, block)
        if pdf.page != number:
            raise ValueError(f"page {number} of the sample does not fit on one page")
        if footer is not None:
            pdf.set_auto_page_break(auto=False)
            pdf.set_xy(20, -14)
            pdf.set_font("Helvetica", size=8)
            pdf.cell(0, 4, footer.format(page=number), align="C")
            pdf.set_auto_page_break(auto=True, margin=18)
    return bytes(pdf.output())


def encrypted_pdf_bytes(user_password: str = "s3cret", *, owner_password: str = "owner") -> bytes:
    """An AES-256 encrypted text PDF; ``user_password=""`` gives one any viewer opens without asking."""
    from fpdf.enums import EncryptionMethod

    pdf = _new_pdf("Locked Memo", None)
    pdf.set_encryption(
        owner_password=owner_password, user_password=user_password, encryption_method=EncryptionMethod.AES_256
    )
    pdf.add_page()
    _draw_block(pdf, "# Locked Memo")
    _draw_block(pdf, "The internal numbers in this memo are protected by a password.")
    return bytes(pdf.output())


def corrupt_pdf_bytes() -> bytes:
    """Starts like a PDF, then garbage: no readable cross-reference or objects."""
    return b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + bytes((i * 37 + 11) % 256 for i in range(4096))


def truncated_pdf_bytes() -> bytes:
    """The first half of a real PDF, as an interrupted upload leaves it."""
    data = briefing_book_pdf()
    return data[: len(data) // 2]


def scanned_pdf_bytes(pages: int = 2) -> bytes:
    """Pages with only a raster image and a drawn frame, like a scan without OCR: no text layer."""
    pdf = _new_pdf("Scanned Letter", None)
    image = _gray_png(120, 160)
    for _ in range(pages):
        pdf.add_page()
        pdf.rect(15, 15, 186, 249)
        pdf.image(io.BytesIO(image), x=20, y=20, w=170)
    return bytes(pdf.output())


def blank_pdf_bytes(pages: int = 1) -> bytes:
    """Pages with nothing on them."""
    pdf = _new_pdf(None, None)
    for _ in range(pages):
        pdf.add_page()
    return bytes(pdf.output())


def many_pages_pdf_bytes(pages: int) -> bytes:
    """``pages`` short text pages (fast to build)."""
    return pdf_bytes([f"# Page {n}\n\nThis is page {n} of the long appendix." for n in range(1, pages + 1)])


def docx_bytes(blocks: Sequence[Block], *, title: str | None = None, author: str | None = None) -> bytes:
    """A DOCX built with python-docx's default template: headings get Heading 1/2 styles, bullets List Bullet,
    tables a real table; :data:`PAGE_BREAK` is a hard page break (``<w:br w:type="page"/>``) and
    :data:`RENDERED_BREAK` a ``<w:lastRenderedPageBreak/>`` at the start of the next paragraph, as Word writes
    at the top of every page it laid out (after a hard break too: ``[PAGE_BREAK, RENDERED_BREAK]``)."""
    import docx
    from docx.oxml import OxmlElement

    document = docx.Document()
    if title is not None:
        document.core_properties.title = title
    if author is not None:
        document.core_properties.author = author
    pending_rendered_break = False
    for block in blocks:
        if isinstance(block, list):
            table = document.add_table(rows=len(block), cols=len(block[0]))
            for row, cells in zip(table.rows, block, strict=True):
                for cell, text in zip(row.cells, cells, strict=True):
                    cell.text = text
            continue
        if block == RENDERED_BREAK:
            pending_rendered_break = True
            continue
        if block == PAGE_BREAK:
            document.add_page_break()
            continue
        if block.startswith("## "):
            paragraph = document.add_heading(block[3:], level=2)
        elif block.startswith("# "):
            paragraph = document.add_heading(block[2:], level=1)
        elif block.startswith("- "):
            paragraph = document.add_paragraph(block[2:], style="List Bullet")
        else:
            paragraph = document.add_paragraph(block)
        if pending_rendered_break:
            paragraph.runs[0]._r.insert(0, OxmlElement("w:lastRenderedPageBreak"))
            pending_rendered_break = False
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def markdown_bytes(text: str, *, bom: bool = False) -> bytes:
    return ("\ufeff" if bom else "").encode() + text.encode()


def text_bytes(text: str, *, bom: bool = False) -> bytes:
    return markdown_bytes(text, bom=bom)


def png_bytes() -> bytes:
    return _gray_png(4, 4)


def zip_bytes(files: dict[str, bytes] | None = None) -> bytes:
    """A ZIP archive (by default a spreadsheet-like one: not a Word document)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, content in (files or {"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<w/>"}).items():
            archive.writestr(name, content)
    return out.getvalue()


def encrypted_docx_bytes() -> bytes:
    """What Word writes for a password-protected .docx: an OLE2 compound file holding ``EncryptionInfo`` and
    ``EncryptedPackage`` streams (the sector layout is not reproduced: only the signature and the directory
    entry names a reader looks for)."""
    header = bytes.fromhex("d0cf11e0a1b11ae1") + bytes(504)
    directory = "".join(f"{name}\0" for name in ("Root Entry", "EncryptionInfo", "EncryptedPackage"))
    return header + directory.encode("utf-16-le") + bytes(1024)


def legacy_doc_bytes() -> bytes:
    """An OLE2 compound file without encryption streams, as a Word 97-2003 ``.doc`` starts."""
    header = bytes.fromhex("d0cf11e0a1b11ae1") + bytes(504)
    return header + "Root Entry\0WordDocument\0".encode("utf-16-le") + bytes(1024)


# --- internals --------------------------------------------------------------------------------------------------


def _new_pdf(title: str | None, author: str | None):
    from fpdf import FPDF

    pdf = FPDF(format="letter")
    pdf.set_margins(20, 18, 20)
    pdf.set_auto_page_break(auto=True, margin=18)
    pdf.set_creation_date(_FIXED_DATE)  # the same bytes on every build
    if title is not None:
        pdf.set_title(title)
    if author is not None:
        pdf.set_author(author)
    return pdf


def _pdf_blocks(page: str) -> list[str]:
    return [block.strip("\n") for block in page.split("\n\n") if block.strip()]


def _draw_block(pdf, block: str) -> None:
    if block.startswith("## "):
        pdf.set_font("Helvetica", "B", 12)
        pdf.multi_cell(0, 6, block[3:], new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1.5)
    elif block.startswith("# "):
        pdf.set_font("Helvetica", "B", 16)
        pdf.multi_cell(0, 8, block[2:], new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2.5)
    elif block.startswith("- "):
        pdf.set_font("Helvetica", size=10.5)
        for item in block.split("\n"):
            pdf.multi_cell(0, 5.2, item, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2.5)
    else:
        pdf.set_font("Helvetica", size=10.5)
        pdf.multi_cell(0, 5.2, block, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2.5)


def _gray_png(width: int, height: int) -> bytes:
    """A grayscale PNG with a pattern, built by hand (no imaging library needed)."""
    rows = b"".join(b"\0" + bytes((x * 7 + y * 13) % 256 for x in range(width)) for y in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


_FIXED_DATE = dt.datetime(2026, 3, 1, 12, 0, tzinfo=dt.UTC)
