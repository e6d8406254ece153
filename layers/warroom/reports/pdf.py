"""The PDF of an export with fpdf2: a title page, the charts (fpdf2's own drawing), then the tables.

Example
-------
>>> with open("report.pdf", "wb") as out:
...     rows = write_pdf(content, out, max_table_rows=5000)

**Font.** Noto Sans (OFL) from the ``fontpkg-noto-sans`` wheel, with Noto Sans Arabic (``fontpkg-noto-sans-arabic``)
as fpdf2's fallback font, both embedded (subset) in every PDF: Latin, Greek, Cyrillic, Vietnamese and Arabic names
render as written. Text in right-to-left or joined scripts is shaped with HarfBuzz (``uharfbuzz``, fpdf2's text
shaping), so Arabic letters join and run right to left; other text skips shaping (it costs ~10x per string). CJK
is not covered (Noto Sans CJK is 16+ MB a weight): such names show as empty boxes. Chosen over matplotlib's DejaVu
Sans (matplotlib and numpy are ~60 MB for one font file) and ``rinoh-typeface-dejavusans`` (which pulls in
rinohtype, docutils and myst-parser): the two wheels are 4.4 + 0.8 MB of fonts and nothing else. They are
variable fonts read at their default instance (weight 400); instancing a bold weight with fontTools took 30 s, so
headings are set larger instead of bold.

**Charts** are drawn with fpdf2's lines and rectangles (no matplotlib, no numpy): bars for counts, lines for
averages and spend, with axes, a few labels and a legend.

**Tables** are written row by row with ``FPDF.text`` (about 5x cheaper than ``cell``), cut to their column's
width; a page break repeats the header. A PDF is for reading: it tables at most ``max_table_rows`` rows in all
(the ``report_pdf_max_table_rows`` setting) and says so; the remaining rows are still read, so the figures and the
chart of a query cover every row, and CSV or JSON hold them all. The chart page of a query is reserved after the
title page and drawn when the document is closed (``insert_toc_placeholder``), once every row has been counted.
fpdf2 keeps the document in memory until it is written, which the row cap bounds.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from typing import IO, Any

from warroom.reports.tables import Chart, ExportContent, cell_text

PAGE_W, PAGE_H = 297.0, 210.0  # A4 landscape, mm
MARGIN = 12.0
ROW_H = 4.6
FONT_PT = 7.5
# Average advance of a Noto Sans character in mm per pt of font size (digits and lower case), to cut cells
# without measuring each string.
CHAR_MM_PER_PT = 0.2
COLOURS = [(31, 119, 180), (214, 39, 40), (44, 160, 44), (255, 127, 14), (148, 103, 189)]


def _fonts(pdf: Any) -> None:
    import fontpkg_noto_sans
    import fontpkg_noto_sans_arabic

    pdf.add_font("Noto", "", str(fontpkg_noto_sans.ROOT / "files" / "NotoSans[wdth,wght].ttf"))
    pdf.add_font("NotoArabic", "", str(fontpkg_noto_sans_arabic.ROOT / "files" / "NotoSansArabic[wdth,wght].ttf"))
    pdf.set_fallback_fonts(["NotoArabic"])


def _text(value: Any) -> str:
    text = cell_text(value)
    if isinstance(text, float):
        return f"{text:.4f}".rstrip("0").rstrip(".") if abs(text) < 1000 else f"{text:,.2f}"
    if isinstance(text, int):
        return f"{text:,}" if abs(text) >= 10_000 else str(text)
    return " ".join(str(text).split())


def needs_shaping(text: str) -> bool:
    """Right-to-left or joined scripts (Arabic, Hebrew, Indic, ...): set with HarfBuzz, not glyph by glyph."""
    return any(ord(char) >= 0x0590 and not 0x1E00 <= ord(char) <= 0x2BFF for char in text)


def put_text(pdf: Any, x: float, y: float, text: str) -> None:
    """``text`` with its baseline at (x, y): ``FPDF.text`` for most scripts (fast), a shaped cell for the rest."""
    if not needs_shaping(text):
        pdf.text(x, y, text)
        return
    pdf.set_text_shaping(True)
    pdf.set_xy(x - pdf.c_margin, y - pdf.font_size * 0.8)
    pdf.cell(text=text, h=pdf.font_size)
    pdf.set_text_shaping(False)


def _title_page(pdf: Any, content: ExportContent) -> None:
    pdf.add_page()
    pdf.set_text_shaping(True)  # titles and facts may be in any script; the page is small
    pdf.set_text_color(20, 30, 60)
    pdf.set_font("Noto", size=9)
    pdf.text(MARGIN, MARGIN + 4, "WAR ROOM")
    pdf.set_font("Noto", size=24)
    pdf.set_xy(MARGIN, 40)
    pdf.multi_cell(PAGE_W - 2 * MARGIN, 11, content.title)
    pdf.set_font("Noto", size=11)
    pdf.set_text_color(90, 90, 90)
    pdf.set_x(MARGIN)
    pdf.multi_cell(PAGE_W - 2 * MARGIN, 6, content.subtitle)
    pdf.ln(4)
    pdf.set_text_color(0, 0, 0)
    pdf.set_font("Noto", size=10)
    for label, value in content.facts[:24]:
        pdf.set_x(MARGIN)
        pdf.cell(70, 6, label)
        pdf.multi_cell(PAGE_W - 2 * MARGIN - 70, 6, str(value)[:400], new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Noto", size=8)
    pdf.set_text_color(120, 120, 120)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    pdf.text(MARGIN, PAGE_H - MARGIN, f"Exported {stamp}")
    pdf.set_text_color(0, 0, 0)
    pdf.set_text_shaping(False)


def _nice_max(value: float) -> float:
    """The top of the axis: the next 1, 2, 2.5 or 5 times a power of ten at or above ``value``."""
    if value <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * magnitude:
            return step * magnitude
    return value


def draw_chart(pdf: Any, chart: Chart, x: float, y: float, w: float, h: float) -> None:
    """One chart in the box (x, y, w, h): title, axes, the series as bars or lines, a legend."""
    pdf.set_font("Noto", size=11)
    pdf.text(x, y + 4, chart.title)
    top, left, bottom, right = y + 10, x + 16, y + h - 10, x + w - 4
    values = [v for series in chart.series.values() for v in series if v is not None]
    low = min(0.0, min(values, default=0.0))
    high = max(values, default=1.0)
    if low < 0:
        span = max(abs(low), abs(high), 0.01)
        low, high = -span, span
    else:
        high = _nice_max(high)
    pdf.set_draw_color(160, 160, 160)
    pdf.set_line_width(0.2)
    pdf.line(left, top, left, bottom)
    pdf.line(left, bottom, right, bottom)
    pdf.set_font("Noto", size=6.5)

    def y_of(value: float) -> float:
        return bottom - (value - low) / ((high - low) or 1) * (bottom - top)

    for fraction in (0, 0.25, 0.5, 0.75, 1):
        value = low + (high - low) * fraction
        pdf.set_draw_color(225, 225, 225)
        pdf.line(left, y_of(value), right, y_of(value))
        pdf.text(x, y_of(value) + 1, f"{value:,.2f}" if high - low < 10 else f"{value:,.0f}")
    n = max(len(chart.labels), 1)
    slot = (right - left) / n
    for index in range(0, n, max(1, n // 8)):
        if index < len(chart.labels):
            label = str(chart.labels[index])[:16]
            # Under the middle of its slot, where its bar or point is.
            put_text(pdf, left + (index + 0.5) * slot - pdf.get_string_width(label) / 2, bottom + 4, label)
    for number, (name, series) in enumerate(chart.series.items()):
        colour = COLOURS[number % len(COLOURS)]
        pdf.set_draw_color(*colour)
        pdf.set_fill_color(*colour)
        if chart.kind == "bar":
            width = slot * 0.8 / len(chart.series)
            for index, value in enumerate(series):
                if value is not None:
                    bar_x = left + index * slot + slot * 0.1 + number * width
                    pdf.rect(bar_x, min(y_of(value), y_of(0)), max(width, 0.2), abs(y_of(0) - y_of(value)), style="F")
        else:
            pdf.set_line_width(0.6)
            points = [(left + (i + 0.5) * slot, y_of(v)) for i, v in enumerate(series) if v is not None]
            for (x1, y1), (x2, y2) in itertools.pairwise(points):
                pdf.line(x1, y1, x2, y2)
            for px, py in points if len(points) < 60 else []:
                pdf.circle(px, py, 0.7, style="F")
        pdf.rect(right - 40, top + number * 5, 3, 3, style="F")
        pdf.set_text_color(0, 0, 0)
        put_text(pdf, right - 35, top + number * 5 + 2.6, name)
    pdf.set_draw_color(0, 0, 0)
    pdf.set_line_width(0.2)


def _charts_page(pdf: Any, charts: list[Chart]) -> None:
    boxes = [(MARGIN, MARGIN, PAGE_W - 2 * MARGIN, (PAGE_H - 2 * MARGIN) / 2 - 2)]
    boxes.append((MARGIN, PAGE_H / 2 + 2, PAGE_W - 2 * MARGIN, (PAGE_H - 2 * MARGIN) / 2 - 2))
    if not charts:
        pdf.set_font("Noto", size=11)
        pdf.text(MARGIN, MARGIN + 6, "No data to chart.")
    for chart, box in zip(charts[:2], boxes, strict=False):
        draw_chart(pdf, chart, *box)


class _Tables:
    """Writes rows across pages, the header repeated after each break."""

    def __init__(self, pdf: Any, budget: int):
        self.pdf, self.budget, self.written, self.y = pdf, budget, 0, PAGE_H

    def table(self, title: str, columns: list[str], widths: list[float], rows: Any) -> int:
        """Table the rows while the budget lasts; read (and count) the rest; returns the rows read."""
        pdf = self.pdf
        weights = [w if w else 0.0 for w in widths] if widths else [1.0] * len(columns)
        shown = [i for i, w in enumerate(weights) if w > 0] or list(range(len(columns)))
        total = sum(weights[i] for i in shown) or 1.0
        usable = PAGE_W - 2 * MARGIN
        col_w = {i: usable * weights[i] / total for i in shown}
        chars = {i: max(3, int(col_w[i] / (FONT_PT * CHAR_MM_PER_PT))) for i in shown}
        if self.y > PAGE_H - MARGIN - 30:
            pdf.add_page()
            self.y = MARGIN
        pdf.set_font("Noto", size=12)
        self.y += 7
        pdf.text(MARGIN, self.y, title)
        self.y += 3
        self._header(columns, shown, col_w)
        count = 0
        pdf.set_font("Noto", size=FONT_PT)
        for row in rows:
            count += 1
            if self.written >= self.budget:
                continue  # read on: the query's figures and chart cover every row
            if self.y > PAGE_H - MARGIN:
                pdf.add_page()
                self.y = MARGIN
                self._header(columns, shown, col_w)
                pdf.set_font("Noto", size=FONT_PT)
            x = MARGIN
            for i in shown:
                text = _text(row[i])
                put_text(pdf, x + 0.8, self.y + 3.3, text if len(text) <= chars[i] else text[: chars[i] - 1] + "…")
                x += col_w[i]
            self.y += ROW_H
            self.written += 1
        if count == 0:
            pdf.text(MARGIN + 0.8, self.y + 3.3, "(none)")
            self.y += ROW_H
        elif count > self.written and self.written >= self.budget:
            pdf.set_text_color(160, 0, 0)
            pdf.text(MARGIN, self.y + 4, f"{count - min(count, self.budget):,} more rows are not tabled here; see CSV.")
            pdf.set_text_color(0, 0, 0)
            self.y += ROW_H
        self.y += 2
        return count

    def _header(self, columns: list[str], shown: list[int], col_w: dict[int, float]) -> None:
        pdf = self.pdf
        pdf.set_fill_color(225, 230, 240)
        pdf.rect(MARGIN, self.y, PAGE_W - 2 * MARGIN, ROW_H + 0.6, style="F")
        pdf.set_font("Noto", size=FONT_PT)
        x = MARGIN
        for i in shown:
            pdf.text(x + 0.8, self.y + 3.4, columns[i][: max(3, int(col_w[i] / (FONT_PT * CHAR_MM_PER_PT)))])
            x += col_w[i]
        self.y += ROW_H + 1


def write_pdf(content: ExportContent, out: IO[bytes], *, max_table_rows: int) -> int:
    """Write ``content`` as a PDF to ``out``; returns the rows read."""
    from fpdf import FPDF

    pdf = FPDF(orientation="L", unit="mm", format="A4")
    pdf.set_auto_page_break(False)
    pdf.set_title(content.title)
    pdf.set_creator("War Room")
    _fonts(pdf)
    _title_page(pdf, content)
    pdf.add_page()  # the chart page, drawn when the document is closed; the placeholder moves on to the next
    pdf.insert_toc_placeholder(lambda doc, _outline: _charts_page(doc, content.charts()), pages=1)
    tables = _Tables(pdf, max_table_rows)
    tables.y = MARGIN
    rows = 0
    for table in content.tables:
        rows += tables.table(table.title, table.columns, table.widths, table.rows)
    pdf.output(out)  # type: ignore[arg-type]
    return rows
