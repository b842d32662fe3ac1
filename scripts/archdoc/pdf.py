"""docs/architecture.pdf from the markdown text (docs/architecture/*.md) and the rendered diagrams.

The markdown is parsed by markdown-it (CommonMark plus tables) and laid out with reportlab.
An image whose address is ``diagram:<name>`` is the diagram rendered as <name>.png; the address
``diagram:side-by-side`` puts prod and staging next to each other on a landscape page, and
``table:inventories`` is the table of what each inventory sets. reportlab runs invariant (no
date, no random ids), so the same sources give the same bytes.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token
from reportlab import rl_config
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.platypus import (
    BaseDocTemplate,
    Flowable,
    Frame,
    Image,
    KeepTogether,
    ListFlowable,
    ListItem,
    NextPageTemplate,
    PageBreak,
    PageTemplate,
    Paragraph,
    Preformatted,
    Spacer,
    Table,
    TableStyle,
)

from .model import Environment

LOG = logging.getLogger("archdoc.pdf")
FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
MARGIN = 16 * mm


class Turn(NextPageTemplate):
    """The next page's orientation ("portrait" or "landscape")."""

    def __init__(self, template: str) -> None:
        super().__init__(template)
        self.template = template


def turned(flowables: list[Flowable]) -> list[Flowable]:
    """One landscape page for the flowables, then portrait again."""
    return [Turn("landscape"), PageBreak(), KeepTogether(flowables), Turn("portrait"), PageBreak()]


def tidy(story: list[Flowable]) -> list[Flowable]:
    """Two landscape pages in a row: no blank portrait page between them."""
    out: list[Flowable] = []
    for flowable in story:
        out.append(flowable)
        tail = out[-4:]
        if (
            len(tail) == 4
            and isinstance(tail[0], Turn)
            and tail[0].template == "portrait"
            and isinstance(tail[1], PageBreak)
            and isinstance(tail[2], Turn)
            and tail[2].template == "landscape"
            and isinstance(tail[3], PageBreak)
        ):
            del out[-4:-2]
    return out


def register_fonts() -> None:
    """DejaVu (Debian's fonts-dejavu-core): the built-in PDF fonts have no arrows or dashes."""
    for name, file in (
        ("Body", "DejaVuSans.ttf"),
        ("Body-Bold", "DejaVuSans-Bold.ttf"),
        ("Body-Italic", "DejaVuSans-Oblique.ttf"),
        ("Body-BoldItalic", "DejaVuSans-BoldOblique.ttf"),
        ("Mono", "DejaVuSansMono.ttf"),
    ):
        pdfmetrics.registerFont(TTFont(name, str(FONT_DIR / file)))
    pdfmetrics.registerFontFamily(
        "Body", normal="Body", bold="Body-Bold", italic="Body-Italic", boldItalic="Body-BoldItalic"
    )


def styles() -> dict[str, ParagraphStyle]:
    base = getSampleStyleSheet()
    body = ParagraphStyle("body", parent=base["BodyText"], fontName="Body", fontSize=9.5, leading=13.5)
    return {
        "body": body,
        "h1": ParagraphStyle("h1", parent=body, fontName="Body-Bold", fontSize=17, leading=22, spaceBefore=6,
                             spaceAfter=8, textColor=colors.HexColor("#1f2328")),
        "h2": ParagraphStyle("h2", parent=body, fontName="Body-Bold", fontSize=12.5, leading=16, spaceBefore=8,
                             spaceAfter=4),
        "h3": ParagraphStyle("h3", parent=body, fontName="Body-Bold", fontSize=10.5, leading=14, spaceBefore=6,
                             spaceAfter=2),
        "cell": ParagraphStyle("cell", parent=body, fontSize=8, leading=10.5),
        "code": ParagraphStyle("code", parent=body, fontName="Mono", fontSize=7.5, leading=9.5,
                               backColor=colors.HexColor("#F6F8FA"), borderPadding=4),
        "caption": ParagraphStyle("caption", parent=body, fontSize=8, alignment=TA_CENTER,
                                  textColor=colors.HexColor("#57606a")),
    }  # fmt: skip


def inline(token: Token) -> str:
    """An inline token's children as reportlab paragraph markup."""
    out: list[str] = []
    for child in token.children or []:
        kind = child.type
        if kind == "text":
            out.append(html.escape(child.content, quote=False))
        elif kind == "code_inline":
            out.append(f'<font face="Mono" size="8">{html.escape(child.content, quote=False)}</font>')
        elif kind in ("softbreak",):
            out.append(" ")
        elif kind == "hardbreak":
            out.append("<br/>")
        elif kind == "strong_open":
            out.append("<b>")
        elif kind == "strong_close":
            out.append("</b>")
        elif kind == "em_open":
            out.append("<i>")
        elif kind == "em_close":
            out.append("</i>")
        elif kind == "link_open":
            out.append(f'<link href="{html.escape(str(child.attrs.get("href", "")))}" color="#0969da">')
        elif kind == "link_close":
            out.append("</link>")
    return "".join(out)


class Builder:
    """Turns markdown tokens into flowables; ``images`` resolves ``diagram:`` and ``table:`` addresses."""

    def __init__(self, diagrams: Path, environments: Sequence[Environment], width: float) -> None:
        self.diagrams, self.environments, self.width = diagrams, environments, width
        self.style = styles()

    def flowables(self, text: str) -> list[Flowable]:
        tokens = MarkdownIt("commonmark").enable("table").parse(text)
        out, _ = self.blocks(tokens, 0, None)
        return out

    def blocks(self, tokens: list[Token], index: int, until: str | None) -> tuple[list[Flowable], int]:
        out: list[Flowable] = []
        while index < len(tokens):
            token = tokens[index]
            if until and token.type == until:
                return out, index + 1
            if token.type == "heading_open":
                level = token.tag
                if level == "h1" and out and not isinstance(out[-1], PageBreak):
                    out.append(PageBreak())
                out.append(Paragraph(inline(tokens[index + 1]), self.style[level if level != "h4" else "h3"]))
                index += 3
            elif token.type == "paragraph_open":
                out.extend(self.paragraph(tokens[index + 1], token.hidden))
                index += 3
            elif token.type in ("bullet_list_open", "ordered_list_open"):
                close = token.type.replace("_open", "_close")
                items, index = self.list_items(tokens, index + 1, close)
                kind = "bullet" if token.type.startswith("bullet") else "1"
                out.append(ListFlowable(items, bulletType=kind, start="•" if kind == "bullet" else None,
                                        leftIndent=12, bulletFontName="Body", bulletFontSize=8))  # fmt: skip
            elif token.type == "table_open":
                table, index = self.table(tokens, index + 1)
                out.append(table)
            elif token.type in ("fence", "code_block"):
                out.append(Preformatted(token.content.rstrip("\n"), self.style["code"]))
                out.append(Spacer(1, 4))
                index += 1
            elif token.type == "hr":
                out.append(PageBreak())
                index += 1
            else:
                index += 1
        return out, index

    def list_items(self, tokens: list[Token], index: int, close: str) -> tuple[list[ListItem], int]:
        items: list[ListItem] = []
        while tokens[index].type != close:
            if tokens[index].type == "list_item_open":
                content, index = self.blocks(tokens, index + 1, "list_item_close")
                items.append(ListItem(content))
            else:
                index += 1
        return items, index + 1

    def paragraph(self, token: Token, tight: bool = False) -> list[Flowable]:
        children = token.children or []
        images = [child for child in children if child.type == "image"]
        # A paragraph of images only (and the blanks between them) is a figure.
        if images and all(child.type == "image" or not child.content.strip() for child in children):
            return [flowable for image in images for flowable in self.image(image)]
        return [Paragraph(inline(token), self.style["body"])]

    def table(self, tokens: list[Token], index: int) -> tuple[Table, int]:
        rows: list[list[Paragraph]] = []
        row: list[Paragraph] = []
        while tokens[index].type != "table_close":
            token = tokens[index]
            if token.type == "tr_open":
                row = []
            elif token.type in ("th_open", "td_open"):
                markup = inline(tokens[index + 1])
                row.append(Paragraph(f"<b>{markup}</b>" if token.type == "th_open" else markup, self.style["cell"]))
            elif token.type == "tr_close":
                rows.append(row)
            index += 1
        return self.grid(rows), index + 1

    def grid(self, rows: list[list[Any]], widths: list[float] | None = None) -> Table:
        columns = max(len(row) for row in rows)
        table = Table(rows, colWidths=widths or [self.width / columns] * columns, repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#d0d7de")),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eaeef2")),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LEFTPADDING", (0, 0), (-1, -1), 4),
                    ("RIGHTPADDING", (0, 0), (-1, -1), 4),
                ]
            )
        )
        return table

    # --- diagrams and generated tables ------------------------------------------
    def picture(self, name: str, width: float, height: float) -> Image:
        path = self.diagrams / f"{name}.png"
        image = Image(str(path))
        scale = min(width / image.imageWidth, height / image.imageHeight)
        return Image(str(path), width=image.imageWidth * scale, height=image.imageHeight * scale)

    def image(self, token: Token) -> list[Flowable]:
        address = str(token.attrs.get("src", ""))
        caption = Paragraph(html.escape(token.content or "", quote=False), self.style["caption"])
        kind, _, name = address.partition(":")
        if kind == "table" and name == "inventories":
            return [self.inventory_table()]
        if kind != "diagram":
            raise ValueError(f"image {address!r}: expected diagram:<name> or table:inventories")
        page_width, page_height = landscape(A4)
        usable = (page_width - 2 * MARGIN, page_height - 2 * MARGIN - 14 * mm)
        if name == "side-by-side":
            halves = [self.picture(env.env, usable[0] / 2 - 4 * mm, usable[1]) for env in self.environments]
            row = Table([halves], colWidths=[usable[0] / 2] * 2, style=[("VALIGN", (0, 0), (-1, -1), "TOP")])
            return turned([row, caption])
        return turned([self.picture(name, *usable), caption])

    def inventory_table(self) -> Table:
        """What each inventory sets, one column per environment (the values the diagrams draw)."""
        facts = [env.facts() for env in self.environments]
        rows = [[Paragraph("<b>value</b>", self.style["cell"])] + [
            Paragraph(f"<b>{html.escape(env.env)}</b>", self.style["cell"]) for env in self.environments
        ]]  # fmt: skip
        for key in facts[0]:
            rows.append(
                [Paragraph(html.escape(key), self.style["cell"])]
                + [Paragraph(html.escape(shown(fact.get(key))), self.style["cell"]) for fact in facts]
            )
        first = self.width * 0.28
        rest = (self.width - first) / len(self.environments)
        return self.grid(rows, [first] + [rest] * len(self.environments))


def shown(value: Any) -> str:
    if isinstance(value, dict):
        return ", ".join(f"{key} {inner}" for key, inner in value.items())
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "none"
    if value == "":
        return "none"
    return str(value)


def footer(canvas: Any, document: Any) -> None:
    canvas.saveState()
    canvas.setFont("Body", 7.5)
    canvas.setFillColor(colors.HexColor("#57606a"))
    width, _ = canvas._pagesize
    canvas.drawString(MARGIN, 8 * mm, "webstack: architecture (generated by make docs)")
    canvas.drawRightString(width - MARGIN, 8 * mm, f"page {document.page}")
    canvas.restoreState()


def build(
    texts: Sequence[Path], diagrams: Path, environments: Sequence[Environment], output: Path, sources_sha256: str
) -> Path:
    """Write ``output`` from the markdown files (in order) and the diagrams rendered in ``diagrams``."""
    rl_config.invariant = 1
    register_fonts()
    portrait_size, landscape_size = A4, landscape(A4)
    document = BaseDocTemplate(
        str(output),
        pagesize=portrait_size,
        title="webstack: architecture",
        author="webstack (make docs)",
        subject=f"sources sha256 {sources_sha256}",
        keywords=f"sources-sha256:{sources_sha256}",
        creator="scripts/archdoc",
        leftMargin=MARGIN,
        rightMargin=MARGIN,
        topMargin=MARGIN,
        bottomMargin=MARGIN,
    )
    document.addPageTemplates(
        [
            PageTemplate("portrait", [Frame(MARGIN, MARGIN, portrait_size[0] - 2 * MARGIN,
                                            portrait_size[1] - 2 * MARGIN, id="p")], onPage=footer,
                         pagesize=portrait_size),
            PageTemplate("landscape", [Frame(MARGIN, MARGIN, landscape_size[0] - 2 * MARGIN,
                                             landscape_size[1] - 2 * MARGIN, id="l")], onPage=footer,
                         pagesize=landscape_size),
        ]
    )  # fmt: skip
    builder = Builder(diagrams, environments, portrait_size[0] - 2 * MARGIN)
    story: list[Flowable] = []
    for text in texts:
        if story and not isinstance(story[-1], PageBreak):
            story.append(PageBreak())
        story.extend(builder.flowables(text.read_text()))
    document.build(tidy(story))
    LOG.info("wrote %s (%d bytes)", output, output.stat().st_size)
    return output
