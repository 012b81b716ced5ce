"""The monospaced fonts receipts are drawn in (PDF, and the raster image of a Chinese ESC/POS receipt).

A receipt is laid out in columns, so its font is monospaced: DejaVu Sans Mono for the Latin languages (or,
without DejaVu, the CJK face's own Latin), Noto Sans Mono CJK SC for Chinese and for any receipt with a CJK
character in it (a CJK character is exactly two Latin columns wide in it). Fonts are looked up by file name
in the usual font folders of Linux, BSD and macOS, so no one distribution's path is assumed; a missing font
is a clear `FontMissing` naming the package to install, never a PDF full of empty boxes.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

from fontTools.ttLib import TTCollection

from topup.services.receipts.layout import char_width


class FontMissing(RuntimeError):
    """No font file with the glyphs a receipt needs is installed."""


@dataclass(frozen=True, slots=True)
class Font:
    path: Path
    index: int  # the face inside a TrueType/OpenType collection (.ttc); 0 for a single font file


@dataclass(frozen=True, slots=True)
class _Wanted:
    files: tuple[tuple[str, str], ...]  # (file name, family of the face in it), the first found wins
    package: str  # what to install when none is found


_MONO_SC: Final = "Noto Sans Mono CJK SC"  # in Debian's NotoSansCJK-*.ttc, or Noto's own per-face .otf files
_CJK: Final = {
    False: (("NotoSansCJK-Regular.ttc", _MONO_SC), ("NotoSansMonoCJKsc-Regular.otf", _MONO_SC)),
    True: (("NotoSansCJK-Bold.ttc", _MONO_SC), ("NotoSansMonoCJKsc-Bold.otf", _MONO_SC)),
}
# Latin: DejaVu (it has every European letter); else the CJK face, whose Latin-1 and € suffice for our words.
_WANTED: Final = {
    ("latin", False): _Wanted(
        (("DejaVuSansMono.ttf", "DejaVu Sans Mono"), *_CJK[False]), "fonts-dejavu-core"
    ),
    ("latin", True): _Wanted(
        (("DejaVuSansMono-Bold.ttf", "DejaVu Sans Mono"), *_CJK[True]), "fonts-dejavu-core"
    ),
    ("cjk", False): _Wanted(_CJK[False], "fonts-noto-cjk"),
    ("cjk", True): _Wanted(_CJK[True], "fonts-noto-cjk"),
}


def font_dirs() -> list[Path]:
    """Where fonts live: the XDG data folders and the usual ones (Linux, BSD), the user's own, macOS's."""
    data_dirs = [*os.environ.get("XDG_DATA_DIRS", "").split(":"), "/usr/local/share", "/usr/share"]
    dirs = [Path(folder) / "fonts" for folder in data_dirs if folder]
    home = Path.home()
    dirs += [home / ".local/share/fonts", home / ".fonts", Path("/Library/Fonts"), home / "Library/Fonts"]
    return [folder for folder in dict.fromkeys(dirs) if folder.is_dir()]


@cache
def _find(name: str) -> Path | None:
    for folder in font_dirs():
        found = next(folder.rglob(name), None)
        if found is not None:
            return found
    return None


def script_for(language: str, texts: Iterable[str]) -> str:
    """`cjk` for a Chinese receipt, or one with any wide character (a Chinese shop name on a Dutch receipt,
    which DejaVu would draw as empty boxes); else `latin`."""
    if language.startswith("zh") or any(char_width(char) == 2 for text in texts for char in text):
        return "cjk"
    return "latin"


@cache
def _face_index(path: Path, family: str) -> int | None:
    """Which face of a collection is `family` (0 for a single font file); None if it holds no such face."""
    if path.suffix.lower() != ".ttc":
        return 0
    collection = TTCollection(path, lazy=True)
    names = [font["name"].getBestFamilyName() for font in collection.fonts]
    return names.index(family) if family in names else None


def font_for(script: str, *, bold: bool = False) -> Font:
    """The monospaced font for `script` (see `script_for`), or `FontMissing` saying what to install."""
    wanted = _WANTED[(script, bold)]
    for name, family in wanted.files:
        path = _find(name)
        index = None if path is None else _face_index(path, family)
        if path is not None and index is not None:
            return Font(path, index)
    names = ", ".join(name for name, _family in wanted.files)
    folders = ", ".join(map(str, font_dirs())) or "no font folder"
    raise FontMissing(
        f"no receipt font for {script} text: none of {names} in {folders}; "
        f"install the {wanted.package} package (Debian/Ubuntu) or one of those fonts"
    )
