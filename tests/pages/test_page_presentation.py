"""Page presentation 会议模式: the slide show steps forward and back through the whole briefing."""
from __future__ import annotations

from apptest_helpers import open_page

from lib import briefing
from lib.queries import default_scope_and_month
from lib.ui import Keys

PAGE = "pages/presentation.py"
K = Keys.Presentation


def test_next_and_previous_step_through_every_slide(engine):
    root, month = default_scope_and_month(engine)
    n = len(briefing.slides(engine, root, month, "zh"))
    assert n > 2
    at = open_page(PAGE, lang="zh")
    assert at.session_state[K.INDEX] == 0
    at.button(key=K.NEXT).click().run()
    assert at.session_state[K.INDEX] == 1
    at.button(key=K.PREV).click().run()
    at.button(key=K.PREV).click().run()
    assert not at.exception
    assert at.session_state[K.INDEX] == n - 1  # back from the first slide is the last


def test_play_toggles_the_show(engine):
    at = open_page(PAGE, lang="en")
    assert at.session_state[K.PLAYING] is False
    at.button(key=K.TOGGLE).click().run()
    assert at.session_state[K.PLAYING] is True
    assert not at.exception
