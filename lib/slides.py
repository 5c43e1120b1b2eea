"""Slide rendering (幻灯片): one slide model, rendered to PowerPoint (python-pptx) and PDF (Pillow).

A `Slide` says one thing: a section title, a headline sentence stating the finding, up to four key
figures, and one chart. Charts are rendered to PNG by kaleido on the system Chromium, with the
Noto CJK font so Chinese renders. The same slides feed the presentation page.
"""
from __future__ import annotations

import io
import subprocess
from dataclasses import dataclass, field
from functools import lru_cache

import plotly.graph_objects as go
import plotly.io as pio
from PIL import Image, ImageDraw, ImageFont

CJK_FONT = "Noto Sans CJK SC"
W, H = 1920, 1080  # 16:9 at presentation size
CHART_W, CHART_H = 1800, 640
RED, INK, GREY = (200, 16, 46), (31, 41, 51), (96, 108, 118)
RAG = {"green": (46, 125, 50), "amber": (230, 145, 0), "red": (200, 16, 46), None: INK}


@dataclass
class Slide:
    """One message per slide: `headline` states the finding (e.g. "3 个区县未完成开发计划")."""

    key: str
    title: str
    headline: str
    figures: list[tuple[str, str, str | None]] = field(default_factory=list)  # (label, value, rag)
    chart: go.Figure | None = None


def chart_png(fig: go.Figure, width: int = CHART_W, height: int = CHART_H) -> bytes:
    """Render a plotly figure to PNG with kaleido (system Chromium) in the CJK font."""
    from lib.charts import plain_labels

    fig = plain_labels(go.Figure(fig))  # names from data as text (issue 14)
    fig.update_layout(font_family=CJK_FONT, font_size=22, width=width, height=height, title=None,
                      margin=dict(l=40, r=40, t=30, b=40), paper_bgcolor="white")
    return pio.to_image(fig, format="png", width=width, height=height, scale=1)


def chart_pngs(slides: list[Slide]) -> dict[str, bytes]:
    """Render every slide's chart, keeping one Chromium running for the batch."""
    import kaleido

    out: dict[str, bytes] = {}
    try:
        kaleido.start_sync_server(silence_warnings=True)
        started = True
    except Exception:  # noqa: BLE001 (already running, or no server support: render one by one)
        started = False
    try:
        for s in slides:
            if s.chart is not None:
                out[s.key] = chart_png(s.chart)
    finally:
        if started:
            kaleido.stop_sync_server(silence_warnings=True)
    return out


# --- PowerPoint ---------------------------------------------------------------------------------


def _set_font(run, size_pt: float, bold: bool = False, colour=INK) -> None:
    from pptx.dml.color import RGBColor
    from pptx.oxml.ns import qn
    from pptx.util import Pt

    run.font.size = Pt(size_pt)
    run.font.bold = bold
    run.font.name = CJK_FONT
    run.font.color.rgb = RGBColor(*colour)
    rpr = run._r.get_or_add_rPr()
    for tag in ("a:ea", "a:cs"):  # East Asian typeface, so PowerPoint uses the CJK font for Chinese
        el = rpr.find(qn(tag))
        if el is None:
            el = rpr.makeelement(qn(tag), {})
            rpr.append(el)
        el.set("typeface", CJK_FONT)


def _text(slide, left, top, width, height, text, size, bold=False, colour=INK):
    from pptx.util import Emu

    box = slide.shapes.add_textbox(Emu(left), Emu(top), Emu(width), Emu(height))
    frame = box.text_frame
    frame.word_wrap = True
    run = frame.paragraphs[0].add_run()
    run.text = text
    _set_font(run, size, bold, colour)
    return box


def to_pptx(slides: list[Slide], pngs: dict[str, bytes]) -> bytes:
    """Return a 16:9 PowerPoint deck: per slide a title, the headline, key figures and the chart."""
    from pptx import Presentation
    from pptx.util import Emu

    prs = Presentation()
    prs.slide_width, prs.slide_height = Emu(12192000), Emu(6858000)  # 13.333 × 7.5 in, exactly 16:9
    emu_w = prs.slide_width
    px = emu_w / W  # EMU per design pixel
    blank = prs.slide_layouts[6]
    for s in slides:
        slide = prs.slides.add_slide(blank)
        title = _text(slide, 60 * px, 30 * px, (W - 120) * px, 70 * px, s.title, 22, colour=GREY)
        title.name = "Title"
        _text(slide, 60 * px, 95 * px, (W - 120) * px, 110 * px, s.headline, 36, bold=True)
        n = max(len(s.figures), 1)
        for i, (label, value, rag) in enumerate(s.figures):
            left = (60 + i * (W - 120) / n) * px
            _text(slide, left, 220 * px, (W - 120) / n * px, 40 * px, label, 16, colour=GREY)
            _text(slide, left, 255 * px, (W - 120) / n * px, 80 * px, value, 30, bold=True, colour=RAG[rag])
        if s.key in pngs:
            slide.shapes.add_picture(io.BytesIO(pngs[s.key]), Emu(60 * px), Emu(380 * px),
                                     width=Emu((W - 120) * px))
    out = io.BytesIO()
    prs.save(out)
    return out.getvalue()


# --- PDF (each slide drawn as a page image) -----------------------------------------------------


@lru_cache(maxsize=8)
def _font(size: int, bold: bool = False):
    style = ":bold" if bold else ""
    try:
        path = subprocess.run(["fc-match", "-f", "%{file}", f"{CJK_FONT}{style}"], capture_output=True,
                              text=True, timeout=5).stdout.strip()
        return ImageFont.truetype(path, size)
    except (OSError, subprocess.SubprocessError):
        return ImageFont.load_default(size)


def slide_image(s: Slide, png: bytes | None) -> Image.Image:
    """Draw one slide at 1920×1080 (used for the PDF and for previews)."""
    img = Image.new("RGB", (W, H), "white")
    d = ImageDraw.Draw(img)
    d.rectangle([0, 0, W, 12], fill=RED)
    d.text((60, 40), s.title, font=_font(34), fill=GREY)
    d.text((60, 100), s.headline, font=_font(60, bold=True), fill=INK)
    n = max(len(s.figures), 1)
    for i, (label, value, rag) in enumerate(s.figures):
        x = 60 + i * (W - 120) // n
        d.text((x, 220), label, font=_font(28), fill=GREY)
        d.text((x, 260), value, font=_font(56, bold=True), fill=RAG[rag])
    if png:
        chart = Image.open(io.BytesIO(png)).convert("RGB")
        chart.thumbnail((W - 120, H - 400))
        img.paste(chart, (60, 380))
    return img


def to_pdf(slides: list[Slide], pngs: dict[str, bytes]) -> bytes:
    """Return the slides as a PDF, one 16:9 page per slide."""
    pages = [slide_image(s, pngs.get(s.key)) for s in slides]
    out = io.BytesIO()
    pages[0].save(out, format="PDF", save_all=True, append_images=pages[1:], resolution=144)
    return out.getvalue()
