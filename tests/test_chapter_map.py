"""The landing page's chapter map (tools/chapter_map.py) matches the book."""

from __future__ import annotations

import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))

import chapter_map  # noqa: E402
import setup_cell  # noqa: E402


def test_the_map_has_one_box_per_chapter_of_the_toc():
    numbers = sorted(int(p.name[:2]) for p in setup_cell.chapters()
                     if re.match(r"\d\d_", p.name))
    assert sorted(chapter_map.CHAPTERS) == numbers
    assert set(chapter_map.POSITIONS) == set(chapter_map.CHAPTERS)


def test_dependencies_point_forward_and_every_chapter_after_the_first_has_one():
    for need, chapter in chapter_map.DEPENDENCIES:
        assert need < chapter, (need, chapter)
    needed_by = {chapter for _, chapter in chapter_map.DEPENDENCIES}
    assert needed_by == set(chapter_map.CHAPTERS) - {1}


def test_the_landing_page_states_the_dependencies_in_its_alt_text_and_table():
    assert chapter_map.check() == []
    intro = (ROOT / "book" / "intro.md").read_text()
    rows = dict(re.findall(r"^\| [IV]+ \| (\d+)\. .*\| ([\d—]+) \|$", intro, re.M))
    for need, chapter in chapter_map.DEPENDENCIES:
        assert rows[str(chapter)] == str(need), f"chapter {chapter} builds on {need}"
