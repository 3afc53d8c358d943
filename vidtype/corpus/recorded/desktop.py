"""Flat clips: office documents, PDFs, web pages, terminals and code, recorded from real programs under Xvfb.

Programs (clip i shows PROGRAMS[i % len(PROGRAMS)]; the office programs come twice as often as the others):
    calc      LibreOffice Calc on a spreadsheet of real tables (installed packages, /etc/services, time zones, word
              counts of a text, sales figures) with formulas and a summary sheet; the cursor walks and clicks
              cells, drags ranges, types numbers, words and formulas, scrolls, changes sheet
    impress   LibreOffice Impress on a slide deck (titles, bullets, a bar chart, a picture, coloured or gradient
              backgrounds, transitions): either a full-screen slideshow advanced by keys and clicks, or the editor,
              paged through and typed into
    writer    LibreOffice Writer on a document (headings, paragraphs, lists, a table; varied fonts, colours,
              columns, zoom); scrolled, paged, clicked, typed into, text selected and emboldened
    zathura   the zathura PDF viewer on such a document or deck exported to PDF by LibreOffice; paged, scrolled,
              zoomed, sometimes in dark (recolour) mode or two pages side by side
    chromium  Chromium (a normal window or an app window, varied scale) on local HTML: pydoc pages of the standard
              library, articles made from the texts, installed /usr/share/doc/*/html; scrolled, links followed
              with Tab and Enter, back, find-in-page
    xterm     xterm (varied font, size and colours) running real commands: ls, git log, man, less, top, apt-cache,
              dpkg, grep, a Python session
    vim       vim in xterm on a standard-library or C header source (varied colour scheme): scrolling, searching,
              jumping, typing code
Documents are generated as flat ODF XML (.fods/.fodp/.fodt) from text found on this machine: the licences in
/usr/share/common-licenses, the READMEs in /usr/share/doc and the pydoc text of standard-library modules. Each
LibreOffice run gets a fresh profile that switches off first-start dialogs and recovery.

Clip i is decided by random.Random(f"desktop:{seed}:{i}"): screen size, output size (360p to 720p), length
(4 to 10 s), content, look and actions. Its group is "<program>:<content>" (e.g. "writer:license/GPL-3"), so a
split keeps one program's same content on one side. On a busy 2-core machine a clip takes its length plus the
program's start-up: about 2 s for xterm, 3 s for vim and zathura (PDF export included), 4 s for Calc and Writer,
5 s for Chromium and 6 to 8 s for Impress; 7 to 17 s in all.
"""

from __future__ import annotations

import base64
import collections
import contextlib
import gzip
import importlib
import itertools
import logging
import pydoc
import random
import re
import subprocess
import sys
import sysconfig
import tempfile
import time
from html import escape as _html_escape
from pathlib import Path
from typing import Callable, Iterator
from xml.sax.saxutils import escape as _xml_escape

from . import xrecord
from .base import Clip, CorpusError, ensure_apt, package_license

log = logging.getLogger(__name__)

NAME = "desktop"
LABEL = "flat"
PACKAGES = {"calc": "libreoffice-calc", "impress": "libreoffice-impress", "writer": "libreoffice-writer",
            "zathura": "zathura", "chromium": "chromium", "xterm": "xterm", "vim": "vim"}
APT = (*PACKAGES.values(), "zathura-pdf-poppler", "fonts-liberation", "fonts-dejavu-core", "man-db", "less",
       "git", "x11-xserver-utils", *xrecord.APT)
PROGRAMS = ("calc", "impress", "writer", "xterm", "zathura", "calc", "impress", "writer", "chromium", "vim")

_SCREENS = ((1280, 720), (1366, 768), (1600, 900), (1440, 900), (1024, 768))
_FONTS = ("Liberation Sans", "Liberation Serif", "Liberation Sans Narrow", "DejaVu Sans", "DejaVu Serif")
_MONO_FONTS = ("DejaVu Sans Mono", "Liberation Mono")
_PAPERS = (  # (paper, ink, accent) of documents and pages
    ("#ffffff", "#202020", "#1f4e79"), ("#ffffff", "#000000", "#c00000"), ("#ffffff", "#333333", "#6a1b9a"),
    ("#fdf6e3", "#3b3b3b", "#b58900"), ("#f4f7fb", "#1c2833", "#117864"), ("#fffaf0", "#2b2b2b", "#d35400"),
    ("#1e1e1e", "#e0e0e0", "#4fc3f7"), ("#0b2545", "#eef4ed", "#f4d35e"))
_SLIDES = (  # (background, gradient end or "", title, text, accent) of slide decks
    ("#ffffff", "", "#1f4e79", "#333333", "#2e86c1"), ("#0b2545", "#13315c", "#f4d35e", "#eef4ed", "#ee964b"),
    ("#fdf6e3", "", "#cb4b16", "#586e75", "#268bd2"), ("#1b1b1b", "#3a3a3a", "#ffffff", "#d0d0d0", "#e74c3c"),
    ("#e8f6f3", "#ffffff", "#0e6251", "#1b2631", "#16a085"), ("#4a148c", "#880e4f", "#ffffff", "#f3e5f5", "#ffd54f"),
    ("#ffffff", "#dfe6e9", "#2d3436", "#2d3436", "#e17055"), ("#002b36", "", "#b58900", "#93a1a1", "#2aa198"))
_TERMINALS = (  # (background, foreground) of xterm
    ("black", "#d0d0d0"), ("white", "black"), ("#002b36", "#839496"), ("#1e1e2e", "#cdd6f4"),
    ("#300a24", "white"), ("#282828", "#ebdbb2"), ("black", "#33ff33"), ("#fdf6e3", "#586e75"))
_PYDOC_MODULES = ("argparse", "collections", "csv", "datetime", "decimal", "difflib", "functools", "itertools",
                  "json", "logging", "pathlib", "random", "re", "shutil", "sqlite3", "statistics", "string",
                  "subprocess", "tarfile", "textwrap", "unittest", "zipfile")


def clips(out_dir: Path, n: int, seed: int, done: set[str]) -> Iterator[Clip]:
    """Record clips 0..n-1 (those not in `done`) into out_dir/desktop/; a program failing 3 times is dropped."""
    ensure_apt(APT)
    failures = collections.Counter()
    for i in range(n):
        program = PROGRAMS[i % len(PROGRAMS)]
        if clip_path(program, seed, i) in done or failures[program] >= 3:
            continue
        try:
            yield record_clip(Path(out_dir), seed, i)
        except Exception as e:  # one program's failure must not stop the others
            failures[program] += 1
            log.warning("desktop: %s clip %d failed: %s", program, i, e)
            if failures[program] == 3:
                log.warning("desktop: %s failed 3 times, recording no more of it", program)


def clip_path(program: str, seed: int, i: int) -> str:
    return f"{NAME}/{program}_{seed}_{i:04d}.mp4"


def record_clip(out_dir: Path, seed: int, i: int, *, seconds: float | None = None,
                screen: tuple[int, int] | None = None) -> Clip:
    """Record clip i of `seed` (its length and screen size can be forced, for tests) and return its Clip."""
    program = PROGRAMS[i % len(PROGRAMS)]
    rng = random.Random(f"{NAME}:{seed}:{i}")
    drawn_screen, drawn_seconds, height = rng.choice(_SCREENS), round(rng.uniform(4, 10), 1), rng.random()
    screen, seconds = screen or drawn_screen, seconds or drawn_seconds
    heights = [h for h in (360, 480, 540, 720) if h <= screen[1]] or [screen[1] // 2 * 2]
    out_h = heights[int(height * len(heights))]
    out_size = (round(out_h * screen[0] / screen[1] / 2) * 2, out_h)
    path = clip_path(program, seed, i)
    with tempfile.TemporaryDirectory(prefix="vidtype-desktop-") as work, \
            xrecord.virtual_display(screen) as display:
        desk = _Desk(display, screen, rng, Path(work))
        desk.run("xsetroot", "-cursor_name", "left_ptr")  # an arrow, not X's cross, where a program sets no cursor
        with _DRIVERS[program](desk) as (content, act):
            xrecord.record(display, Path(out_dir) / path, seconds, screen, out_size, act)
    return Clip(path, LABEL, program, f"{program}:{content}", package_license(PACKAGES[program]))


# ---- input -------------------------------------------------------------------------------------------------------

class _Desk:
    """One clip's display, work folder and random generator, with the mouse and keyboard actions drivers share."""

    def __init__(self, display: str, size: tuple[int, int], rng: random.Random, work: Path):
        self.display, self.size, self.rng, self.work = display, size, rng, work
        self.pointer = (size[0] // 2, size[1] // 2)

    def xdo(self, *args: str) -> str:
        return xrecord.xdotool(self.display, *args)

    def run(self, *argv: str) -> None:
        subprocess.run(argv, env=xrecord.display_env(self.display), capture_output=True, timeout=30)

    def launch(self, argv: list[str], **kw):
        return xrecord.launch(self.display, argv, log=self.work / "program.log", **kw)

    def window(self, name: str | None = None, timeout: float = 60, settle: float = 1.5) -> str:
        """Wait for a window, make it fill the screen, focus it and let it draw; its id."""
        wid = xrecord.wait_for_window(self.display, name, timeout)
        if wid is None:
            raise CorpusError(f"no window {name or ''} within {timeout:.0f} s")
        self.xdo("windowmove", wid, "0", "0", "windowsize", wid, str(self.size[0]), str(self.size[1]),
                 "windowfocus", wid)
        time.sleep(settle)
        return wid

    def key(self, *keys: str, delay: int = 90) -> None:
        self.xdo("key", "--delay", str(delay), *keys)

    def type(self, text: str) -> None:
        """Type `text` at a human pace; a newline presses Return (programs differ in how they take xdotool's)."""
        delay = str(self.rng.randint(40, 110))
        for k, line in enumerate(text.split("\n")):
            if k:
                self.key("Return")
            if line:
                self.xdo("type", "--delay", delay, line)

    def move(self, x: float, y: float) -> None:
        """Glide the pointer to (x, y) as a hand would, in one xdotool call."""
        (x0, y0), steps = self.pointer, self.rng.randint(6, 14)
        args = []
        for k in range(1, steps + 1):
            args += ["mousemove", str(round(x0 + (x - x0) * k / steps)), str(round(y0 + (y - y0) * k / steps)),
                     "sleep", "0.03"]
        self.xdo(*args)
        self.pointer = (round(x), round(y))

    def spot(self, left=0.1, top=0.2, right=0.9, bottom=0.9) -> tuple[float, float]:
        """A random point of the given part of the screen (fractions of its size)."""
        w, h = self.size
        return self.rng.uniform(left, right) * w, self.rng.uniform(top, bottom) * h

    def wander(self) -> None:
        self.move(*self.spot())

    def click(self, x: float, y: float) -> None:
        self.move(x, y)
        self.xdo("click", "1")

    def drag(self, x: float, y: float) -> None:
        self.xdo("mousedown", "1")
        self.move(x, y)
        self.xdo("mouseup", "1")

    def scroll(self, clicks: int) -> None:
        """Turn the wheel `clicks` notches (down when positive)."""
        self.xdo("click", "--repeat", str(abs(clicks)), "--delay", "70", "5" if clicks > 0 else "4")

    def words(self, text: str, n: int) -> str:
        """`n` consecutive words of `text` from a random place."""
        words = re.findall(r"[A-Za-z][A-Za-z'-]+", text) or ["lorem", "ipsum"]
        k = self.rng.randrange(max(1, len(words) - n))
        return " ".join(words[k:k + n])

    def drive(self, deadline: float, actions: list[tuple[float, Callable[[], None]]]) -> None:
        """Do weighted random actions, with short pauses between them, until `deadline`."""
        weights, fns = zip(*actions)
        while time.monotonic() < deadline - 0.4:
            self.rng.choices(fns, weights)[0]()
            time.sleep(self.rng.uniform(0.15, 0.8))


# ---- content -----------------------------------------------------------------------------------------------------

def _text_names() -> list[str]:
    """The texts this machine has: licences, READMEs of some length, pydoc of standard-library modules."""
    names = [f"license/{p.name}" for p in sorted(Path("/usr/share/common-licenses").glob("*"))
             if p.is_file() and not p.is_symlink() and p.stat().st_size > 3000]
    names += [f"readme/{p.parent.name}/{p.name}" for p in sorted(Path("/usr/share/doc").glob("*/README*"))
              if p.is_file() and p.stat().st_size > 2000]
    return names + [f"pydoc/{m}" for m in _PYDOC_MODULES]


def _read_text(name: str) -> str:
    kind, _, rest = name.partition("/")
    if kind == "pydoc":
        return pydoc.render_doc(importlib.import_module(rest), renderer=pydoc.plaintext)
    path = Path("/usr/share/common-licenses" if kind == "license" else "/usr/share/doc", rest)
    data = path.read_bytes()
    return (gzip.decompress(data) if path.suffix == ".gz" else data).decode("utf-8", "replace")


def _pick_text(rng: random.Random) -> tuple[str, str, list[tuple[str, str]]]:
    """A random licence, README or pydoc text: its name, its title and its ("h" | "p" | "li", text) blocks."""
    names = _text_names()
    kind = rng.choice(("license/", "readme/", "pydoc/"))
    name = rng.choice([n for n in names if n.startswith(kind)] or names)
    text = _read_text(name)
    title = next((line.strip("# \t")[:70] for line in text.splitlines()
                  if len(re.findall("[A-Za-z]", line)) > 3 and "-*-" not in line),  # not an Emacs mode line
                 name.rsplit("/", 1)[-1])
    return name, title, _blocks(text)


def _stem(name: str) -> str:
    """A file name for a document of text `name`: "readme/bash/README.gz" -> "bash-README"."""
    return re.sub(r"(\.gz|\.md|\.txt)+$", "", "-".join(name.split("/")[1:])).replace(" ", "_")


def _blocks(text: str, limit: int = 120) -> list[tuple[str, str]]:
    """Split a plain or Markdown text into headings (short lines without end punctuation, "# ..."), list items
    and paragraphs."""
    text = re.sub(r"[\x00-\x08\x0b-\x1f\x7f]", "", text.replace("\f", "\n\n").expandtabs())
    out = []
    for chunk in re.split(r"\n\s*\n", text):
        lines = [line.strip().lstrip("|").strip() for line in chunk.splitlines()  # "|" starts pydoc's class lines
                 if re.search(r"[^\W_]", line) and not line.lstrip().startswith("```")]
        items = re.split(r"\n\s*(?:[-*o\u2022]|\d+[.)])\s+", "\n" + "\n".join(lines))
        if len(items) > 2 and not items[0].strip():
            out += [("li", " ".join(item.split())) for item in items[1:]]
        elif len(lines) == 1 and len(lines[0]) < 70 and not lines[0].endswith((".", ",", ";", ":")) \
                or lines and lines[0].startswith("#"):
            out.append(("h", lines[0].strip("#*_` ")))
            if len(lines) > 1:
                out.append(("p", " ".join(" ".join(lines[1:]).split())))
        elif lines:
            out.append(("p", " ".join(" ".join(lines).split())))
        if len(out) >= limit:
            break
    return out


def _sentences(blocks: list[tuple[str, str]], words: int = 14) -> list[str]:
    """The sentences of the paragraphs and list items, each cut to at most `words` words."""
    out = []
    for kind, s in blocks:
        if kind != "h":
            for sentence in re.split(r"(?<=[.;!?])\s+", s):
                cut = sentence.split()[:words]
                if len(cut) >= 4:
                    out.append(" ".join(cut))
    return out or ["No sentences here"]


_COMMON = set("that this with from your have will which there their these they been were when what such other "
               "into than then also only must more does each some same shall self none return true false".split())


def _word_counts(blocks: list[tuple[str, str]], n: int) -> list[tuple[str, int]]:
    """The `n` most frequent words of four letters or more, common English and Python ones left out."""
    words = [w for w in re.findall(r"[a-z]{4,}", " ".join(s for _, s in blocks).lower()) if w not in _COMMON]
    return collections.Counter(words).most_common(n) or [("none", 1)]


def _x(s: object) -> str:
    return _xml_escape(str(s), {'"': "&quot;"})


# ---- flat ODF documents ------------------------------------------------------------------------------------------

_NS = {"office": "office:1.0", "style": "style:1.0", "text": "text:1.0", "table": "table:1.0", "draw": "drawing:1.0",
       "fo": "xsl-fo-compatible:1.0", "svg": "svg-compatible:1.0", "presentation": "presentation:1.0",
       "smil": "smil-compatible:1.0", "number": "datastyle:1.0", "config": "config:1.0", "chart": "chart:1.0",
       "of": "of:1.2"}
_NAMESPACES = " ".join(f'xmlns:{k}="urn:oasis:names:tc:opendocument:xmlns:{v}"' for k, v in _NS.items())


def _odf(kind: str, body: str, auto: str = "", styles: str = "", master: str = "", view: str = "") -> str:
    """A flat ODF document of `kind` (text, spreadsheet, presentation, chart); `view`: its view config items."""
    settings = ('<office:settings><config:config-item-set config:name="ooo:view-settings">'
                '<config:config-item-map-indexed config:name="Views"><config:config-item-map-entry>'
                f'{view}</config:config-item-map-entry></config:config-item-map-indexed>'
                '</config:config-item-set></office:settings>') if view else ""
    return (f'<office:document {_NAMESPACES} office:version="1.2" '
            f'office:mimetype="application/vnd.oasis.opendocument.{kind}">{settings}'
            f'<office:styles>{styles}</office:styles><office:automatic-styles>{auto}</office:automatic-styles>'
            f'<office:master-styles>{master}</office:master-styles>'
            f'<office:body><office:{kind}>{body}</office:{kind}></office:body></office:document>')


def _save(path: Path, xml: str) -> Path:
    """Write a flat ODF document (LibreOffice recognises one only with its XML declaration)."""
    path.write_text('<?xml version="1.0" encoding="UTF-8"?>\n' + xml, encoding="utf-8")
    return path


def _config(name: str, kind: str, value) -> str:
    return f'<config:config-item config:name="{name}" config:type="{kind}">{value}</config:config-item>'


def _style(name: str, family: str, para: str = "", text: str = "") -> str:
    return (f'<style:style style:name="{name}" style:family="{family}"><style:paragraph-properties {para}/>'
            f'<style:text-properties {text}/></style:style>')


def _font(family: str, size: float, color: str, bold: bool = False, italic: bool = False) -> str:
    return (f'fo:font-family="\'{family}\'" fo:font-size="{size:.0f}pt" fo:color="{color}"'
            + (' fo:font-weight="bold"' if bold else "") + (' fo:font-style="italic"' if italic else ""))


def _fill(name: str, fill: str, stroke: str = "none", extra: str = "") -> str:
    """A graphic style: `fill` is "none" or a colour."""
    fill = 'draw:fill="none"' if fill == "none" else f'draw:fill="solid" draw:fill-color="{fill}"'
    return (f'<style:style style:name="{name}" style:family="graphic"><style:graphic-properties {fill} '
            f'draw:stroke="{stroke}" {extra}/></style:style>')


_LIST_STYLE = ('<text:list-style style:name="L1"><text:list-level-style-bullet text:level="1" '
               'text:bullet-char="\u2022"><style:list-level-properties '
               'text:list-level-position-and-space-mode="label-alignment"><style:list-level-label-alignment '
               'text:label-followed-by="listtab" text:list-tab-stop-position="0.9cm" fo:text-indent="-0.6cm" '
               'fo:margin-left="0.9cm"/></style:list-level-properties></text:list-level-style-bullet>'
               '</text:list-style>')


def _bullets(items, style: str) -> str:
    return ('<text:list text:style-name="L1">' + "".join(
        f'<text:list-item><text:p text:style-name="{style}">{_x(s)}</text:p></text:list-item>' for s in items)
        + "</text:list>")


def _writer_doc(title: str, blocks: list[tuple[str, str]], rng: random.Random) -> str:
    """A Writer document of a text: title, headings, paragraphs, lists and maybe a table of frequent words."""
    paper, ink, accent = rng.choice(_PAPERS[:6] * 3 + _PAPERS[6:])
    body_font, head_font, size = rng.choice(_FONTS), rng.choice(_FONTS), rng.choice((10, 11, 12, 14))
    columns = '<style:columns fo:column-count="2" fo:column-gap="0.8cm"/>' if rng.random() < 0.2 else ""
    cell = '<style:style style:name="{}" style:family="table-cell"><style:table-cell-properties {}/></style:style>'
    auto = (f'<style:page-layout style:name="pm1"><style:page-layout-properties fo:page-width="21cm" '
            f'fo:page-height="29.7cm" fo:margin="{rng.choice(("1.5cm", "2cm", "2.5cm"))}" '
            f'fo:background-color="{paper}">{columns}</style:page-layout-properties></style:page-layout>'
            + _style("Title", "paragraph", 'fo:margin-bottom="0.5cm"', _font(head_font, size * 2.2, accent, True))
            + _style("H", "paragraph", 'fo:margin-top="0.4cm" fo:margin-bottom="0.2cm" fo:keep-with-next="always"',
                     _font(head_font, size * 1.4, accent, True))
            + _style("Body", "paragraph", f'fo:text-align="{rng.choice(("justify", "start"))}" fo:margin-bottom='
                     f'"0.2cm" fo:line-height="{rng.choice((100, 115, 130))}%"', _font(body_font, size, ink))
            + _style("Head", "paragraph", "", _font(body_font, size, paper, True))
            + cell.format("HeadCell", f'fo:background-color="{accent}" fo:padding="0.1cm"')
            + cell.format("BodyCell", f'fo:border="0.5pt solid {accent}" fo:padding="0.1cm"') + _LIST_STYLE)
    parts = [f'<text:p text:style-name="Title">{_x(title)}</text:p>']
    table_at = rng.randrange(2, 8) if rng.random() < 0.5 else -1
    for k, (kind, group) in enumerate(itertools.groupby(blocks, key=lambda b: b[0])):
        texts = [s for _, s in group]
        if kind == "li":
            parts.append(_bullets(texts, "Body"))
        elif kind == "h":
            parts += [f'<text:h text:style-name="H" text:outline-level="1">{_x(s)}</text:h>' for s in texts]
        else:
            parts += [f'<text:p text:style-name="Body">{_x(s)}</text:p>' for s in texts]
        if k == table_at:
            parts.append(_words_text_table(_word_counts(blocks, rng.randint(5, 12))))
    view = (_config("ZoomType", "short", 0) + _config("ZoomFactor", "short", rng.choice((80, 100, 100, 120, 150)))
            + _config("ViewLayoutColumns", "short", rng.choice((1, 1, 1, 2))))
    return _odf("text", "".join(parts), auto, view=view,
                master='<style:master-page style:name="Standard" style:page-layout-name="pm1"/>')


def _words_text_table(counts: list[tuple[str, int]]) -> str:
    total = sum(c for _, c in counts)
    cell = ('<table:table-cell table:style-name="{}" office:value-type="string"><text:p text:style-name="{}">{}'
            '</text:p></table:table-cell>')
    rows = ["".join(cell.format("HeadCell", "Head", h) for h in ("Word", "Count", "Share"))]
    rows += ["".join(cell.format("BodyCell", "Body", v) for v in (w, c, f"{100 * c / total:.1f} %"))
             for w, c in counts]
    return ('<table:table table:name="Words"><table:table-column table:number-columns-repeated="3"/>'
            + "".join(f"<table:table-row>{r}</table:table-row>" for r in rows) + "</table:table>")


# A table is (columns, rows): a column is (header, cell style: "" text, "n0", "n2" or "pc"); a cell is a str, a
# number, or an OpenFormula ("of:=...") in which {r} stands for the cell's row number.

def _packages_table(rng, blocks):
    out = subprocess.run(["dpkg-query", "-W", "-f=${Package}\t${Version}\t${Section}\t${Installed-Size}\t"
                          "${Priority}\n"], capture_output=True, text=True, timeout=60).stdout
    rows = [[p, v, s, int(size or 0), pr, "of:=[.D{r}]/1024"]
            for p, v, s, size, pr in (line.split("\t") for line in out.splitlines() if line.count("\t") == 4)]
    if rng.random() < 0.5:
        rows.sort(key=lambda row: -row[3])
    k = rng.randrange(max(1, len(rows) - 150))
    return ([("Package", ""), ("Version", ""), ("Section", ""), ("Size (KiB)", "n0"), ("Priority", ""),
             ("Size (MiB)", "n2")], rows[k:k + rng.randint(40, 150)])


def _services_table(rng, blocks):
    rows = [[m[1], int(m[2]), m[3], m[4].strip(), m[5].strip()]
            for m in re.finditer(r"^(\S+)\s+(\d+)/(\w+)[ \t]*([^#\n]*)#?[ \t]*(.*)$",
                                 Path("/etc/services").read_text(), re.M)]
    return [("Service", ""), ("Port", "n0"), ("Protocol", ""), ("Aliases", ""), ("Comment", "")], rows


def _zones_table(rng, blocks):
    def degrees(sign, d, m, s):
        return (1 if sign == "+" else -1) * (int(d) + int(m) / 60 + int(s or 0) / 3600)
    rows = []
    for line in Path("/usr/share/zoneinfo/zone1970.tab").read_text().splitlines():
        f = line.split("\t") + [""]
        m = re.fullmatch(r"([+-])(\d\d)(\d\d)(\d\d)?([+-])(\d{3})(\d\d)(\d\d)?", f[1]) if len(f) > 3 else None
        if m and not line.startswith("#"):
            rows.append([f[0], f[2], round(degrees(*m.groups()[:4]), 4), round(degrees(*m.groups()[4:]), 4), f[3]])
    return [("Countries", ""), ("Time zone", ""), ("Latitude", "n2"), ("Longitude", "n2"), ("Comment", "")], rows


def _words_table(rng, blocks):
    counts = _word_counts(blocks, rng.randint(30, 120))
    rows = [[w, c, len(w), f"of:=[.B{{r}}]/SUM([.B$2:.B${len(counts) + 1}])"] for w, c in counts]
    return [("Word", ""), ("Count", "n0"), ("Letters", "n0"), ("Share", "pc")], rows


def _sales_table(rng, blocks):
    products = [w.capitalize() for w, _ in _word_counts(blocks, 8)]
    regions = rng.sample(("North", "South", "East", "West", "Central", "Online", "Export"), rng.randint(2, 5))
    year, rows = rng.randint(2012, 2024), []
    for month in range(1, 13):
        for region in regions:
            units, price = rng.randint(5, 900), round(rng.uniform(2, 250), 2)
            rows.append([f"{year}-{month:02d}", region, rng.choice(products), units, price, "of:=[.D{r}]*[.E{r}]",
                         round(units * price * rng.uniform(0.4, 0.9), 2), "of:=([.F{r}]-[.G{r}])/[.F{r}]"])
    return ([("Month", ""), ("Region", ""), ("Product", ""), ("Units", "n0"), ("Unit price", "n2"),
             ("Revenue", "n2"), ("Cost", "n2"), ("Margin", "pc")], rows)


_TABLES = {"packages": _packages_table, "services": _services_table, "zones": _zones_table,
           "words": _words_table, "sales": _sales_table}
_CALC_STYLES = ('<number:number-style style:name="N0"><number:number number:decimal-places="0" '
                'number:min-integer-digits="1" number:grouping="true"/></number:number-style>'
                '<number:number-style style:name="N2"><number:number number:decimal-places="2" '
                'number:min-integer-digits="1" number:grouping="true"/></number:number-style>'
                '<number:percentage-style style:name="NP"><number:number number:decimal-places="1" '
                'number:min-integer-digits="1"/><number:text>%</number:text></number:percentage-style>'
                + "".join(f'<style:style style:name="{s}" style:family="table-cell" style:data-style-name="{d}"/>'
                          for s, d in (("n0", "N0"), ("n2", "N2"), ("pc", "NP"))))


def _calc_doc(rng: random.Random) -> tuple[str, str]:
    """A spreadsheet of one or two real tables, a summary sheet of formulas and maybe a chart; (content, XML)."""
    key = rng.choice(list(_TABLES))
    text_name, _, blocks = _pick_text(rng) if key in ("words", "sales") else ("", "", [])
    content = f"{key}/{text_name}" if key == "words" else key
    paper, ink, accent = rng.choice(_PAPERS[:6])
    font, size = rng.choice(_FONTS), rng.choice((9, 10, 10, 11, 12))
    head_bg, head_ink = (accent, paper) if rng.random() < 0.6 else (paper, accent)
    auto = _CALC_STYLES + (
        f'<style:style style:name="hd" style:family="table-cell"><style:table-cell-properties '
        f'fo:background-color="{head_bg}" fo:border-bottom="1pt solid {accent}"/>'
        f'<style:text-properties {_font(font, size, head_ink, True)}/></style:style>')
    sheets = [(key, *_TABLES[key](rng, blocks))]
    if rng.random() < 0.4:
        other = rng.choice([k for k in _TABLES if k not in ("words", "sales", key)])
        sheets.append((other, *_TABLES[other](rng, blocks)))
    name, columns, rows = sheets[0]
    numeric = [(k, h) for k, (h, style) in enumerate(columns) if style in ("n0", "n2")]
    last = len(rows) + 1
    summary = [[h] + [f"of:={f}([${name.capitalize()}.{_col(k)}2:.{_col(k)}{last}])"
                      for f in ("SUM", "AVERAGE", "MIN", "MAX")] for k, h in numeric]
    sheets.append(("summary", [("Column", ""), ("Total", "n2"), ("Average", "n2"), ("Minimum", "n2"),
                               ("Maximum", "n2")], summary))
    tables = []
    for s, (name, columns, rows) in enumerate(sheets):
        widths = [min(7.0, max(1.8, 0.4 + 0.02 * size * max(10 if str(c).startswith("of:=") else len(str(c))
                                                             for c in [h] + [r[k] for r in rows[:80]])))
                  for k, (h, _) in enumerate(columns)]
        auto += "".join(f'<style:style style:name="c{s}_{k}" style:family="table-column"><style:table-column-'
                        f'properties style:column-width="{w:.2f}cm"/></style:style>' for k, w in enumerate(widths))
        chart = ""
        if s == 0 and numeric and rng.random() < 0.6:
            chart = _chart(name.capitalize(), numeric[0][0], min(last, 13), sum(widths) + 0.5, accent, rng)
        head = "".join(_cell(h, "hd") for h, _ in columns)
        body = "".join("<table:table-row>" + "".join(_cell(v, st, r) for v, (_, st) in zip(row, columns))
                       + "</table:table-row>" for r, row in enumerate(rows, start=2))
        tables.append(f'<table:table table:name="{name.capitalize()}">{chart}'
                      + "".join(f'<table:table-column table:style-name="c{s}_{k}"/>' for k in range(len(widths)))
                      + f"<table:table-row>{head}</table:table-row>{body}</table:table>")
    styles = (f'<style:default-style style:family="table-cell"><style:text-properties '
              f'{_font(font, size, ink)}/></style:default-style>')
    view = (_config("ZoomType", "short", 0) + _config("ZoomValue", "int", rng.choice((75, 90, 100, 100, 120, 140)))
            + _config("ShowGrid", "boolean", "true" if rng.random() < 0.85 else "false"))
    return content, _odf("spreadsheet", "".join(tables), auto, styles, view=view)


def _col(k: int) -> str:
    return chr(ord("A") + k)


def _cell(value, style: str = "", row: int = 0) -> str:
    st = f' table:style-name="{style}"' if style else ""
    if isinstance(value, str) and value.startswith("of:="):
        return f'<table:table-cell{st} table:formula="{_x(value.format(r=row))}" office:value-type="float"/>'
    if isinstance(value, (int, float)):
        return f'<table:table-cell{st} office:value-type="float" office:value="{value}"/>'
    return f'<table:table-cell{st} office:value-type="string"><text:p>{_x(value)}</text:p></table:table-cell>'


def _chart(sheet: str, column: int, last: int, x: float, color: str, rng: random.Random) -> str:
    """A chart of rows 2..last of `column` against column A, placed `x` cm from the sheet's left edge."""
    kind = rng.choice(("bar", "bar", "line", "area", "circle"))
    labels, values = f"{sheet}.A2:{sheet}.A{last}", f"{sheet}.{_col(column)}2:{sheet}.{_col(column)}{last}"
    axes = "" if kind == "circle" else (
        f'<chart:axis chart:dimension="x" chart:name="primary-x" chart:style-name="ax"><chart:categories '
        f'table:cell-range-address="{labels}"/></chart:axis>'
        '<chart:axis chart:dimension="y" chart:name="primary-y" chart:style-name="ax"><chart:grid/></chart:axis>')
    auto = ('<style:style style:name="ax" style:family="chart"><style:chart-properties chart:display-label="true"/>'
            '<style:text-properties fo:font-size="8pt"/></style:style>'
            f'<style:style style:name="se" style:family="chart"><style:graphic-properties draw:fill-color="{color}" '
            f'svg:stroke-color="{color}" svg:stroke-width="0.05cm"/></style:style>')
    series = "" if kind == "circle" else ' chart:style-name="se"'
    body = (f'<chart:chart svg:width="13cm" svg:height="8cm" chart:class="chart:{kind}"><chart:title><text:p>'
            f'{_x(sheet)}</text:p></chart:title>' + ('<chart:legend chart:legend-position="end"/>' if kind == "circle"
                                                      else "")
            + f'<chart:plot-area table:cell-range-address="{labels} {values}" chart:data-source-has-labels="none">'
            f'{axes}<chart:series chart:values-cell-range-address="{values}"{series}/></chart:plot-area>'
            '</chart:chart>')
    return (f'<table:shapes><draw:frame svg:x="{x:.2f}cm" svg:y="0.6cm" svg:width="13cm" svg:height="8cm">'
            f'<draw:object>{_odf("chart", body, auto)}</draw:object></draw:frame></table:shapes>')


_TRANSITIONS = (("barWipe", "leftToRight"), ("fade", "crossfade"), ("pushWipe", "fromRight"),
                ("slideWipe", "fromRight"), ("irisWipe", "rectangle"), ("clockWipe", "clockwiseTwelve"),
                ("ellipseWipe", "circle"), ("fourBoxWipe", "cornersOut"), ("checkerBoardWipe", "down"),
                ("randomBarWipe", "vertical"), ("fade", "fadeOverColor"), ("barnDoorWipe", "vertical"))


def _impress_deck(title: str, blocks: list[tuple[str, str]], rng: random.Random) -> str:
    """A slide deck of a text: a title slide, then bullets, a bar chart of frequent words, a picture, a quote."""
    bg, bg2, title_c, text_c, accent = rng.choice(_SLIDES)
    tfont, bfont = rng.choice(_FONTS), rng.choice(_FONTS)
    w, h = rng.choice(((28, 15.75), (28, 15.75), (28, 21)))
    transitions, speed = rng.sample(_TRANSITIONS, 2), rng.choice(("fast", "medium"))
    fill = 'draw:fill="gradient" draw:fill-gradient-name="bg"' if bg2 else f'draw:fill="solid" draw:fill-color="{bg}"'
    styles = (f'<draw:gradient draw:name="bg" draw:style="linear" draw:start-color="{bg}" draw:end-color="{bg2}" '
              f'draw:angle="{rng.choice((0, 300, 900, 1350))}" draw:border="0%"/>' if bg2 else "")
    auto = (f'<style:page-layout style:name="PM1"><style:page-layout-properties fo:page-width="{w}cm" '
            f'fo:page-height="{h}cm"/></style:page-layout>'
            + _fill("gt", "none", extra='draw:auto-grow-height="false"') + _fill("bar", accent) + _fill("img", "none")
            + _style("PT", "paragraph", "", _font(tfont, rng.choice((28, 32, 36)), title_c, True))
            + _style("PTT", "paragraph", 'fo:text-align="center"', _font(tfont, 44, title_c, True))
            + _style("PS", "paragraph", 'fo:text-align="center"', _font(bfont, 22, text_c))
            + _style("PB", "paragraph", 'fo:margin-bottom="0.3cm"', _font(bfont, rng.choice((18, 20, 22)), text_c))
            + _style("PQ", "paragraph", 'fo:text-align="center"', _font(tfont, 30, text_c, italic=True))
            + _style("PL", "paragraph", 'fo:text-align="center"', _font(bfont, 12, text_c)) + _LIST_STYLE)
    sentences, heads = _sentences(blocks), [s for kind, s in blocks if kind == "h" and s != title]
    icons = sorted(Path("/usr/share/icons/hicolor").glob("*/apps/*.png"))

    def frame(x, y, fw, fh, paras, style="gt"):
        return (f'<draw:frame draw:style-name="{style}" svg:x="{x:.2f}cm" svg:y="{y:.2f}cm" svg:width="{fw:.2f}cm"'
                f' svg:height="{fh:.2f}cm"><draw:text-box>{paras}</draw:text-box></draw:frame>')

    def rect(x, y, rw, rh):
        return f'<draw:rect draw:style-name="bar" svg:x="{x:.2f}cm" svg:y="{y:.2f}cm" svg:width="{rw:.2f}cm" ' \
               f'svg:height="{rh:.2f}cm"/>'

    def p(style, text):
        return f'<text:p text:style-name="{style}">{_x(text)}</text:p>'

    def heading(k):
        words = (heads[k % len(heads)] if heads else sentences[k % len(sentences)]).split()
        return frame(1.5, 0.8, w - 3, 2.4, p("PT", " ".join(words[:5]))) + rect(1.5, 3.2, w - 3, 0.12)

    slides = [rect(0, h * 0.62, w, 0.25) + frame(2, h * 0.25, w - 4, h * 0.35, p("PTT", title))
              + frame(2, h * 0.66, w - 4, 2.5, p("PS", sentences[0]))]
    start = rng.randrange(len(sentences))
    for k in range(rng.randint(5, 9)):
        kind = rng.choice(("bullets", "bullets", "bullets", "chart", "picture" if icons else "quote", "quote"))
        some = [sentences[(start + 5 * k + j) % len(sentences)] for j in range(rng.randint(3, 5))]
        if kind == "bullets":
            slides.append(heading(k) + frame(2, 4, w - 4, h - 5, _bullets(some, "PB")))
        elif kind == "chart":
            counts = _word_counts(blocks, rng.randint(4, 8))
            top, span = counts[0][1], (w - 4) / len(counts)
            bars = "".join(rect(2 + span * (j + 0.2), h - 2.2 - (h - 7) * c / top, span * 0.6, (h - 7) * c / top)
                           + frame(2 + span * j, h - 2.1, span, 1, p("PL", f"{word} ({c})"))
                           for j, (word, c) in enumerate(counts))
            slides.append(heading(k) + bars)
        elif kind == "picture":
            icon = base64.b64encode(rng.choice(icons).read_bytes()).decode()
            slides.append(heading(k) + f'<draw:frame draw:style-name="img" svg:x="2cm" svg:y="4.5cm" '
                          f'svg:width="{h / 2.5:.2f}cm" svg:height="{h / 2.5:.2f}cm"><draw:image><office:binary-data>'
                          f'{icon}</office:binary-data></draw:image></draw:frame>'
                          + frame(3 + h / 2.5, 4, w - 5 - h / 2.5, h - 5, _bullets(some[:3], "PB")))
        else:
            slides.append(frame(3, h * 0.3, w - 6, h * 0.4, p("PQ", f"\u201c{some[0]}\u201d"))
                          + frame(3, h * 0.72, w - 6, 1.2, p("PL", "\u2014 " + title)))
    pages = []
    for k, shapes in enumerate(slides):
        kind, sub = rng.choice(transitions)
        auto += (f'<style:style style:name="dp{k}" style:family="drawing-page"><style:drawing-page-properties '
                 f'presentation:background-visible="true" {fill} smil:type="{kind}" smil:subtype="{sub}" '
                 f'presentation:transition-speed="{speed}"/></style:style>')
        pages.append(f'<draw:page draw:name="slide{k + 1}" draw:style-name="dp{k}" draw:master-page-name="Default">'
                     f'{shapes}</draw:page>')
    return _odf("presentation", "".join(pages), auto, styles,
                master='<style:master-page style:name="Default" style:page-layout-name="PM1"/>')


# ---- HTML --------------------------------------------------------------------------------------------------------

def _pydoc_pages(module: str, folder: Path) -> Path:
    """Write pydoc's HTML page of `module` and of the modules it links to into `folder`; the module's page.
    Linked modules are imported only when already loaded or submodules of `module` (not __main__, which runs)."""
    def write(name):
        obj = importlib.import_module(name)
        page = pydoc.html.page(pydoc.describe(obj), pydoc.html.document(obj, name))
        (folder / f"{name}.html").write_text(page, encoding="utf-8")
        return page
    for name in sorted(set(re.findall(r'href="([\w.]+)\.html"', write(module))) - {module}):
        if name in sys.modules or name.startswith(module + ".") and "__main__" not in name:
            with contextlib.suppress(Exception):  # a linked module that does not import is left out
                write(name)
    return folder / f"{module}.html"


def _article_html(title: str, blocks: list[tuple[str, str]], rng: random.Random) -> str:
    """A web article of a text: a contents list linking to its headings, styled from a random palette."""
    paper, ink, accent = rng.choice(_PAPERS)
    font, width = rng.choice(_FONTS + ("sans-serif", "serif")), rng.choice((38, 46, 60, 80))
    parts, toc = [], []
    for kind, group in itertools.groupby(blocks, key=lambda b: b[0]):
        texts = [s for _, s in group]
        if kind == "h":
            for s in texts:
                toc.append(f'<li><a href="#h{len(toc)}">{_html_escape(s)}</a></li>')
                parts.append(f'<h2 id="h{len(toc) - 1}">{_html_escape(s)}</h2>')
        elif kind == "li":
            parts.append("<ul>" + "".join(f"<li>{_html_escape(s)}</li>" for s in texts) + "</ul>")
        else:
            parts += [f"<p>{_html_escape(s)}</p>" for s in texts]
    css = (f"body{{background:{paper};color:{ink};font-family:'{font}';font-size:{rng.choice((14, 16, 18))}px;"
           f"line-height:1.5;margin:0}} main{{max-width:{width}em;margin:0 auto;padding:1em 2em}} "
           f"h1,h2{{color:{accent}}} a{{color:{accent}}} nav{{background:{accent};padding:.6em 2em}} "
           f"nav a{{color:{paper};margin-right:1.5em}} ul.toc{{columns:2}}")
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>{_html_escape(title)}</title>"
            f"<style>{css}</style></head><body><nav><a href='#top'>Home</a><a href='#toc'>Contents</a></nav>"
            f"<main id='top'><h1>{_html_escape(title)}</h1><ul class='toc' id='toc'>{''.join(toc)}</ul>"
            f"{''.join(parts)}</main></body></html>")


# ---- programs ----------------------------------------------------------------------------------------------------
# A driver is a context manager taking the _Desk: it starts its program, yields (content, act) once the program
# shows its content, where act(deadline) drives it during the recording, and stops the program on exit.

def _lo_profile(desk: _Desk) -> str:
    """A fresh LibreOffice profile (no tips, no what's-new, no recovery; maybe dark, maybe other toolbars)."""
    items = {"/org.openoffice.Office.Common/Misc": {"ShowTipOfTheDay": "false", "FirstRun": "false"},
             "/org.openoffice.Setup/Product": {"ooSetupLastVersion": "99.0"},
             "/org.openoffice.Office.Recovery/AutoSave": {"Enabled": "false"},
             "/org.openoffice.Office.Recovery/RecoveryInfo": {"Enabled": "false"}}
    if desk.rng.random() < 0.2:
        items["/org.openoffice.Office.UI/ColorScheme"] = {"CurrentColorScheme": "LibreOffice Dark"}
    mode = desk.rng.choice(("Default", "Default", "Default", "notebookbar.ui", "notebookbar_compact.ui", "Single"))
    for app in ("Calc", "Writer"):  # Impress's slideshow stays grey under a notebookbar
        items[f"/org.openoffice.Office.UI.ToolbarMode/Applications/org.openoffice.Office.UI.ToolbarMode:"
              f"Application['{app}']"] = {"Active": mode}
    xcu = "".join(f'<item oor:path="{_x(path)}"><prop oor:name="{k}" oor:op="fuse"><value>{v}</value></prop></item>'
                  for path, props in items.items() for k, v in props.items())
    user = desk.work / "libreoffice" / "user"
    user.mkdir(parents=True, exist_ok=True)
    (user / "registrymodifications.xcu").write_text(
        '<?xml version="1.0" encoding="UTF-8"?><oor:items xmlns:oor="http://openoffice.org/2001/registry" '
        f'xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">{xcu}'
        '</oor:items>')
    return f"-env:UserInstallation={user.parent.as_uri()}"


@contextlib.contextmanager
def _soffice(desk: _Desk, doc: Path, *options: str):
    """LibreOffice on `doc` with a fresh profile; yields once its window fills the screen and has drawn."""
    app = desk.launch(["soffice", _lo_profile(desk), "--norestore", "--nologo", "--nolockcheck", *options, str(doc)])
    try:
        desk.window("LibreOffice", settle=3)
        yield
    finally:
        xrecord.stop(app)


def _export_pdf(desk: _Desk, doc: Path) -> Path:
    proc = desk.launch(["soffice", _lo_profile(desk), "--headless", "--convert-to", "pdf", "--outdir", str(desk.work),
                        str(doc)])
    try:
        proc.wait(240)
    except subprocess.TimeoutExpired:
        raise CorpusError(f"LibreOffice did not export {doc.name} to PDF in time") from None
    finally:
        xrecord.stop(proc)
    pdf = doc.with_suffix(".pdf")
    if not pdf.is_file():
        raise CorpusError(f"LibreOffice did not export {doc.name} to PDF")
    return pdf


@contextlib.contextmanager
def _calc(desk: _Desk):
    content, xml = _calc_doc(desk.rng)
    doc = _save(desk.work / f"{content.split('/')[0]}.fods", xml)
    with _soffice(desk, doc, "--calc"):
        def act(deadline):
            rng = desk.rng

            def entry():
                return rng.choice((str(rng.randint(1, 999)), f"{rng.uniform(0, 10000):.2f}", "=SUM(D2:D9)",
                                   "=AVERAGE(B2:B20)", "=MAX(C2:C30)", "Total", "n/a", "Q3", "pending", "2024-06-30"))
            desk.drive(deadline, [
                (3, lambda: desk.key(*[rng.choice(("Down", "Down", "Right", "Left", "Up"))
                                       for _ in range(rng.randint(2, 7))], delay=rng.randint(90, 250))),
                (3, lambda: desk.click(*desk.spot(0.05, 0.3, 0.8, 0.85))),
                (2, lambda: desk.type(entry() + "\n")),
                (2, lambda: (desk.click(*desk.spot(0.05, 0.3, 0.5, 0.6)), desk.drag(*desk.spot(0.3, 0.5, 0.8, 0.85)))),
                (2, lambda: desk.scroll(rng.choice((-3, 3, 5, 8)))),
                (1, lambda: desk.key(rng.choice(("Page_Down", "Page_Up", "ctrl+Down", "ctrl+Home", "shift+Down")))),
                (0.5, lambda: desk.key(rng.choice(("ctrl+Page_Down", "ctrl+Page_Up")))),
            ])
        yield content, act


@contextlib.contextmanager
def _writer(desk: _Desk):
    name, title, blocks = _pick_text(desk.rng)
    doc = _save(desk.work / f"{_stem(name)}.fodt", _writer_doc(title, blocks, desk.rng))
    with _soffice(desk, doc, "--writer"):
        def act(deadline):
            rng = desk.rng
            text = " ".join(s for _, s in blocks)
            desk.drive(deadline, [
                (3, lambda: desk.scroll(rng.randint(2, 8))),
                (1, lambda: desk.scroll(-rng.randint(2, 5))),
                (1, lambda: desk.key(rng.choice(("Page_Down", "Page_Down", "Page_Up", "ctrl+End", "ctrl+Home")))),
                (2, lambda: (desk.click(*desk.spot(0.2, 0.25, 0.75, 0.85)), desk.type(desk.words(text, 5) + " "))),
                (1, lambda: (desk.key("Return"), desk.type(desk.words(text, rng.randint(4, 9)) + ". "))),
                (1, lambda: desk.key(*["ctrl+shift+Right"] * rng.randint(2, 5), rng.choice(("ctrl+b", "ctrl+i")))),
                (1, desk.wander),
            ])
        yield name, act


@contextlib.contextmanager
def _impress(desk: _Desk):
    name, title, blocks = _pick_text(desk.rng)
    doc = _save(desk.work / f"{_stem(name)}.fodp", _impress_deck(title, blocks, desk.rng))
    show = desk.rng.random() < 0.6
    with _soffice(desk, doc, "--impress"):
        if show:  # F5 rather than --show, whose window stays grey under Xvfb
            desk.key("F5")
            time.sleep(2)

        def act(deadline):
            rng = desk.rng
            if show:
                desk.drive(deadline, [
                    (4, lambda: (time.sleep(rng.uniform(0.8, 2.0)), desk.key(rng.choice(("Right", "space", "Next"))))),
                    (1, lambda: desk.click(*desk.spot())),
                    (0.5, lambda: desk.key(rng.choice(("Left", "Prior")))),
                ])
            else:
                desk.drive(deadline, [
                    (3, lambda: desk.key(rng.choice(("Next", "Next", "Prior")))),
                    (2, lambda: desk.click(*desk.spot(0.01, 0.2, 0.12, 0.9))),
                    (2, lambda: (desk.click(*desk.spot(0.3, 0.3, 0.7, 0.7)), desk.click(*desk.spot(0.3, 0.3, 0.7, 0.7)),
                                 desk.type(desk.words(" ".join(s for _, s in blocks), 4)))),
                    (1, lambda: desk.key("Escape", "Escape")),
                    (1, desk.wander),
                ])
        yield name, act


@contextlib.contextmanager
def _zathura(desk: _Desk):
    rng = desk.rng
    name, title, blocks = _pick_text(rng)
    if rng.random() < 0.3:
        doc = _save(desk.work / f"{_stem(name)}.fodp", _impress_deck(title, blocks, rng))
    else:
        doc = _save(desk.work / f"{_stem(name)}.fodt", _writer_doc(title, blocks, rng))
    pdf = _export_pdf(desk, doc)
    config = desk.work / "zathura"
    config.mkdir()
    options = {"adjust-open": rng.choice(("best-fit", "width", "width")), "pages-per-row": rng.choice((1, 1, 1, 2)),
               "recolor": rng.random() < 0.2, "default-bg": rng.choice(("#000000", "#303030", "#e0e0e0")),
               "guioptions": rng.choice(("s", "sv", "")), "scroll-page-aware": True}
    (config / "zathurarc").write_text("".join(f"set {k} {str(v).lower()}\n" for k, v in options.items()))
    app = desk.launch(["zathura", "--config-dir", str(config), "--data-dir", str(config), "--cache-dir", str(config),
                       str(pdf)])
    try:
        desk.window(pdf.name)

        def act(deadline):
            desk.drive(deadline, [
                (3, lambda: desk.key(*["j"] * rng.randint(3, 12), delay=60)),
                (2, lambda: desk.scroll(rng.randint(2, 8))),
                (2, lambda: desk.key(rng.choice(("J", "J", "K", "ctrl+d", "ctrl+u", "space")))),
                (1, lambda: desk.key(*rng.choice(("plus", "minus", "a", "s", "G", "g g")).split())),
                (1, desk.wander),
            ])
        yield name, act
    finally:
        xrecord.stop(app)


@contextlib.contextmanager
def _chromium(desk: _Desk):
    rng = desk.rng
    docs = sorted(p for p in Path("/usr/share/doc").glob("*/html/*.html") if p.stat().st_size > 3000)
    kind = rng.choice(("pydoc", "article", "article", "doc" if docs else "pydoc"))
    site = desk.work / "site"
    site.mkdir()
    if kind == "pydoc":
        module = rng.choice(_PYDOC_MODULES)
        page, content = _pydoc_pages(module, site), f"pydoc/{module}"
    elif kind == "doc":
        page = rng.choice(docs)
        content = f"doc/{page.parent.parent.name}"
    else:
        content, title, blocks = _pick_text(rng)
        page = site / f"{_stem(content)}.html"
        page.write_text(_article_html(title, blocks, rng))
    w, h = desk.size
    argv = ["chromium", "--no-sandbox", "--test-type", f"--user-data-dir={desk.work / 'chromium'}", "--no-first-run",
            "--no-default-browser-check", "--disable-gpu", "--password-store=basic", "--disable-dev-shm-usage",
            "--window-position=0,0", f"--window-size={w},{h}",
            f"--force-device-scale-factor={rng.choice((1, 1, 1.25, 1.5))}"]
    if rng.random() < 0.15:
        argv.append("--enable-features=WebContentsForceDark")
    argv.append(f"--app={page.as_uri()}" if rng.random() < 0.4 else page.as_uri())
    app = desk.launch(argv)
    try:
        desk.window(settle=4)
        desk.move(*desk.spot(0.3, 0.5, 0.7, 0.6))
        words = re.sub(r"<[^>]*>", " ", page.read_text(errors="replace"))

        def act(deadline):
            desk.drive(deadline, [
                (4, lambda: desk.scroll(rng.randint(2, 8))),
                (1, lambda: desk.scroll(-rng.randint(2, 5))),
                (2, lambda: desk.key(*rng.choice(("Page_Down", "space", "Down Down Down", "End", "Home")).split())),
                (1, lambda: desk.key(*["Tab"] * rng.randint(1, 6), "Return", delay=200)),
                (0.5, lambda: desk.key("alt+Left")),
                (1, lambda: (desk.key("ctrl+f"), desk.type(desk.words(words, 1)),
                             desk.key("Return", "Return", "Escape", delay=400))),
                (1, desk.wander),
            ])
        yield content, act
    finally:
        xrecord.stop(app)


def _xterm_argv(desk: _Desk, *command: str) -> list[str]:
    bg, fg = desk.rng.choice(_TERMINALS)
    return ["xterm", "-fa", desk.rng.choice(_MONO_FONTS), "-fs", str(desk.rng.choice((9, 10, 11, 12, 14, 16))),
            "-bg", bg, "-fg", fg, "-cr", fg, "-tn", "xterm-256color", "-b", str(desk.rng.choice((2, 6, 12))),
            "-u8", "-e", *command]


def _shell_sessions(rng: random.Random) -> dict[str, list[str]]:
    """Terminal sessions: lines typed into bash (ending in newline) and "@keys" pressed in a pager or program."""
    stdlib = sysconfig.get_paths()["stdlib"]
    source = rng.choice(sorted(str(p) for p in Path(stdlib).glob("*.py") if p.stat().st_size > 20000))
    pages = ["@space", "@space", "@d", "@space", "@b", "@space", "@space"]
    sessions = {
        "ls": [f"ls -la --color=auto {d}\n" for d in rng.sample(("/usr/bin", "/etc", "/usr/lib", "/usr/share/doc",
                                                                  "/var/lib/dpkg/info", "/usr/share"), 3)],
        "less": [f"less -N {source}\n", *pages],
        "man": [f"man {rng.choice(('ls', 'bash', 'grep', 'find', 'tar', 'less', 'git', 'xterm', 'ps'))}\n", *pages],
        "top": ["top -d 1\n", "@shift+m", "@shift+p"],
        "apt-cache": [f"apt-cache search --names-only {rng.choice(('python3', 'font', 'lib', 'doc', 'perl'))} "
                      "| head -60\n", "apt-cache policy bash coreutils\n", "apt-cache show libreoffice-calc\n"],
        "dpkg": ["dpkg -l | less\n", *pages],
        "grep": [f"grep -n --color=always 'def ' {source} | head -70\n", f"wc -l {stdlib}/*.py | sort -n | tail -40\n"],
        "python": ["python3\n", "import math, os, sys\n", "[math.factorial(n) for n in range(14)]\n",
                   "sorted(os.listdir('/etc'))[:50]\n", "sys.version_info\n",
                   "{k: len(k) for k in dir(str) if not k.startswith('_')}\n"],
        "system": ["df -h\n", "free -m\n", "ps aux --sort=-%cpu | head -30\n", "uname -a\n"],
    }
    if (_REPO / ".git").exists():
        sessions["git"] = [f"cd {_REPO}\n", "git log --stat\n", *pages]
    return sessions


_REPO = Path(__file__).resolve().parents[3]


def _type_steps(desk: _Desk, deadline: float, steps: list[str]) -> None:
    for step in steps:
        if time.monotonic() > deadline - 0.5:
            return
        if step.startswith("@"):
            desk.key(step[1:])
        else:
            desk.type(step)
        time.sleep(desk.rng.uniform(0.5, 1.5))


@contextlib.contextmanager
def _xterm(desk: _Desk):
    rng = desk.rng
    sessions = _shell_sessions(rng)
    name = rng.choice(sorted(sessions))
    rc = desk.work / "bashrc"
    rc.write_text("HISTFILE=/dev/null\nPS1=%s\n" % rng.choice((
        r"'\u@\h:\w\$ '", r"'\[\e[1;32m\]\u@\h\[\e[0m\]:\[\e[1;34m\]\w\[\e[0m\]\$ '", r"'[\u@\h \W]\$ '",
        r"'\[\e[33m\]\w\[\e[0m\] > '")))
    app = desk.launch(_xterm_argv(desk, "bash", "--noprofile", "--rcfile", str(rc), "-i"), cwd="/")
    try:
        desk.window(settle=0.8)
        yield name, lambda deadline: _type_steps(desk, deadline, sessions[name])
    finally:
        xrecord.stop(app)


@contextlib.contextmanager
def _vim(desk: _Desk):
    rng = desk.rng
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    files = [p for p in sorted(stdlib.glob("*.py")) + sorted(stdlib.glob("*/*.py")) if p.stat().st_size > 12000]
    headers = [p for p in sorted(Path("/usr/include").glob("*.h")) if p.stat().st_size > 8000]
    path = rng.choice(headers if headers and rng.random() < 0.25 else files)
    schemes = sorted(p.stem for p in Path("/usr/share/vim").glob("vim*/colors/*.vim"))
    vimrc = desk.work / "vimrc"
    vimrc.write_text("set nocompatible\nsyntax on\nfiletype plugin indent on\nset ruler laststatus=2 hlsearch\n"
                     + ("set number\n" if rng.random() < 0.6 else "")
                     + ("set cursorline\n" if rng.random() < 0.3 else "")
                     + (f"colorscheme {rng.choice(schemes)}\n" if schemes and rng.random() < 0.7 else ""))
    text = path.read_text(errors="replace").splitlines()
    lines = [line.strip() for line in text if 12 < len(line.strip()) < 60]
    start = f"+{rng.randrange(max(1, len(text) - 60))}" if rng.random() < 0.7 else "+1"
    app = desk.launch(_xterm_argv(desk, "vim", "-u", str(vimrc), "-i", "NONE", "-n", start, str(path)))
    try:
        desk.window(settle=1)

        def act(deadline):
            desk.drive(deadline, [
                (4, lambda: desk.key(*[rng.choice("jjjjk")] * rng.randint(3, 15), delay=rng.randint(40, 120))),
                (2, lambda: desk.key(*rng.choice(("ctrl+d", "ctrl+d", "ctrl+u", "ctrl+f", "braceright", "G", "g g",
                                                  "z z")).split())),
                (1, lambda: (desk.key("slash"), desk.type(rng.choice(lines).split()[0] + "\n"), desk.key("n"))),
                (1, lambda: (desk.key("o"), desk.type(rng.choice(lines)), desk.key("Escape"))),
                (0.5, lambda: desk.type(f":{rng.randint(1, 400)}\n")),
                (0.5, lambda: desk.key(*["w"] * rng.randint(2, 6), delay=150)),
            ])
        yield f"{path.parent.name}/{path.name}", act
    finally:
        xrecord.stop(app)


_DRIVERS = {"calc": _calc, "impress": _impress, "writer": _writer, "zathura": _zathura, "chromium": _chromium,
            "xterm": _xterm, "vim": _vim}
