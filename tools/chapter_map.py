"""Draw the landing page's chapter map: which chapter builds on which.

Usage:
    python tools/chapter_map.py            # writes book/figures/chapter_map.{svg,png}
    python tools/chapter_map.py --check    # exit 1 if book/intro.md's alt text or the
                                           # figure files do not match DEPENDENCIES

The dependencies come from the chapters themselves (each says what it builds on);
:func:`alt_text` states them in words for the figure's alt text in book/intro.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "book" / "figures" / "chapter_map"

#: chapter -> (short title on two lines, part)
CHAPTERS = {
    1: ("Ill-conditioning", "I"),
    2: ("Gradient descent,\na constrained step", "I"),
    3: ("The KL divergence\nand its expansion", "II"),
    4: ("The Fisher\ninformation matrix", "II"),
    5: ("The natural\ngradient algorithm", "III"),
    6: ("Approximating\nthe inverse Fisher", "III"),
    7: ("Natural policy\ngradient", "IV"),
    8: ("Exponential families\nand mirror descent", "V"),
    9: ("Statistical\nefficiency", "V"),
    10: ("NGD for\nneural networks", "VI"),
    11: ("From natural PG\nto TRPO and PPO", "VI"),
}

#: (needed chapter, chapter that builds on it)
DEPENDENCIES = [(1, 2), (2, 3), (3, 4), (4, 5), (5, 6), (5, 7), (4, 8), (8, 9), (6, 10),
                (7, 11)]

#: where each box sits: (column, row)
POSITIONS = {chapter: (1.12 * column, row) for chapter, (column, row) in {
    1: (0, 2), 2: (1, 2), 3: (2, 2), 4: (3, 2), 5: (2, 1), 8: (3, 1),
    6: (1, 0), 7: (2, 0), 9: (3, 0), 10: (1, -1), 11: (2, -1)}.items()}

PART_COLOURS = {"I": "#dbe9f6", "II": "#dff0d8", "III": "#fcefd4", "IV": "#f6dde6",
                "V": "#e6e0f3", "VI": "#cfe8ec"}
NUMBER_WORDS = {9: "nine", 10: "ten", 11: "eleven", 12: "twelve"}


def alt_text() -> str:
    """The dependencies in words, for the figure's alt text."""
    after = {}
    for need, chapter in DEPENDENCIES:
        after.setdefault(need, []).append(chapter)
    parts = []
    for need in sorted(after):
        chapters = [str(c) for c in sorted(after[need])]
        names = chapters[0] if len(chapters) == 1 else " and ".join(chapters)
        parts.append(f"{need} leads to {names}")
    count = NUMBER_WORDS.get(len(CHAPTERS), str(len(CHAPTERS)))
    return (f"Chapter map: a diagram of the {count} chapters as boxes with arrows "
            "from a chapter to the chapters that build on it. Chapter "
            + "; ".join(parts) + ".")


def draw(path: Path = OUT) -> None:
    import matplotlib

    matplotlib.use("Agg")
    matplotlib.rcParams["svg.hashsalt"] = "ngd-chapter-map"  # the same file every run
    import matplotlib.pyplot as plt
    from matplotlib.patches import FancyBboxPatch

    width, height = 0.92, 0.56
    fig, ax = plt.subplots(figsize=(7.0, 5.9))
    boxes = {}
    for chapter, (title, part) in CHAPTERS.items():
        x, y = POSITIONS[chapter]
        box = FancyBboxPatch((x - width / 2, y - height / 2), width, height,
                             boxstyle="round,pad=0.02,rounding_size=0.06",
                             facecolor=PART_COLOURS[part], edgecolor="0.35",
                             linewidth=0.9)
        ax.add_patch(box)
        boxes[chapter] = box
        ax.text(x, y + 0.15, f"Chapter {chapter}", ha="center", va="center",
                fontsize=10, fontweight="bold")
        ax.text(x, y - 0.07, title, ha="center", va="center", fontsize=9.5,
                linespacing=1.1)
    for need, chapter in DEPENDENCIES:
        ax.annotate("", xy=POSITIONS[chapter], xytext=POSITIONS[need],
                    arrowprops={"arrowstyle": "-|>,head_width=0.3,head_length=0.5",
                                "color": "0.2", "linewidth": 1.2,
                                "patchA": boxes[need], "patchB": boxes[chapter],
                                "shrinkA": 2, "shrinkB": 2})
    for part, colour in PART_COLOURS.items():
        ax.plot([], [], "s", markersize=11, color=colour, markeredgecolor="0.35",
                label=f"Part {part}")
    ax.legend(loc="lower left", frameon=False, fontsize=10, bbox_to_anchor=(0.0, 0.0),
              handletextpad=0.4, title="Parts of the book", title_fontsize=10,
              alignment="left")
    ax.set_xlim(-0.5, 3 * 1.12 + 0.5)
    ax.set_ylim(-1.4, 2.4)
    ax.set_aspect("equal")
    ax.axis("off")
    fig.tight_layout(pad=0.1)
    path.parent.mkdir(parents=True, exist_ok=True)
    metadata = {"Title": "Chapter map", "Description": alt_text()}
    fig.savefig(path.with_suffix(".svg"), metadata={**metadata, "Date": None},
                bbox_inches="tight", pad_inches=0.05)
    fig.savefig(path.with_suffix(".png"), dpi=200, bbox_inches="tight", pad_inches=0.05)
    plt.close(fig)


def check() -> list[str]:
    problems = []
    for suffix in (".svg", ".png"):
        if not OUT.with_suffix(suffix).exists():
            problems.append(f"{OUT.with_suffix(suffix)} missing: "
                            "run tools/chapter_map.py")
    intro = (ROOT / "book" / "intro.md").read_text()
    if alt_text() not in intro:
        problems.append("book/intro.md: the chapter map's :alt: is not alt_text(): "
                        + alt_text())
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    if args.check:
        problems = check()
        print("\n".join(problems) or "chapter map: current")
        return 1 if problems else 0
    draw()
    print(f"wrote {OUT}.svg and .png")
    print(alt_text())
    return 0


if __name__ == "__main__":
    sys.exit(main())
