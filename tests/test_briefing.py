"""The monthly briefing: slides, PowerPoint and PDF, with figures equal to the pages'."""
from __future__ import annotations

import io

import pytest
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE

from lib import briefing, fmt, queries


@pytest.fixture(scope="module")
def deck(engine):
    scope, month = queries.default_scope_and_month(engine)
    return scope, month, briefing.slides(engine, scope, month, "zh")


def test_one_slide_per_section_each_with_a_finding(deck):
    _, _, slides = deck
    assert [s.key for s in slides] == list(briefing.SECTIONS)
    for s in slides:
        assert s.title and s.headline and len(s.headline) < 60, s.key
        assert all(label and value for label, value, _ in s.figures)


def test_slide_figures_equal_the_overview(engine, deck):
    scope, month, slides = deck
    ov = queries.overview(engine, scope, month)
    first = {label: value for label, value, _ in slides[0].figures}
    assert first["在册客户"] == fmt.count(ov["customers"], "zh")
    assert first["本月流失客户"] == fmt.count(ov["churned"], "zh")
    assert fmt.tonnes(ov["volume"]["total_t"], "zh") in slides[0].headline
    tiers = {label: value for label, value, _ in slides[2].figures}
    assert tiers["站级"] == fmt.count(ov["by_tier"]["station"], "zh")
    rates = {label: value for label, value, _ in slides[4].figures}
    assert rates["车辆进站率"] == fmt.pct(ov["four_rates"]["entry_rate"], "zh")


def test_pptx_has_a_title_and_picture_per_chart_slide(engine, deck):
    scope, month, slides = deck
    data = briefing.build_pptx(engine, scope, month, "zh")
    prs = Presentation(io.BytesIO(data))
    assert prs.slide_width * 9 == prs.slide_height * 16  # 16:9
    assert len(prs.slides) == len(briefing.SECTIONS)
    for slide, model in zip(prs.slides, slides):
        texts = [sh.text_frame.text for sh in slide.shapes if sh.has_text_frame]
        assert model.title in texts and model.headline in texts
        pictures = [sh for sh in slide.shapes if sh.shape_type == MSO_SHAPE_TYPE.PICTURE]
        assert len(pictures) == (1 if model.chart is not None else 0), model.key
        # Chinese text carries the East Asian typeface
        xml = slide.shapes[0].text_frame._txBody.xml
        assert 'typeface="Noto Sans CJK SC"' in xml


def test_pdf_has_one_page_per_slide(engine, deck):
    scope, month, _ = deck
    data = briefing.build_pdf(engine, scope, month, "en")
    assert data.startswith(b"%PDF")
    import re

    assert len(re.findall(rb"/Type\s*/Page(?!s)", data)) == len(briefing.SECTIONS)


def test_english_briefing_has_no_chinese_labels(engine, deck):
    scope, month, _ = deck
    import re

    for s in briefing.slides(engine, scope, month, "en"):
        labels = s.title.split("·")[0] + s.headline + "".join(label for label, _, _ in s.figures)
        assert not re.search(r"[\u4e00-\u9fff]", labels), (s.key, labels)
