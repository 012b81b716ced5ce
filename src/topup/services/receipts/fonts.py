"""The monospaced fonts receipts are drawn in (PDF, and the raster image of a Chinese ESC/POS receipt).

A receipt is laid out in columns, so its font is monospaced: DejaVu Sans Mono for the Latin languages,
Noto Sans Mono CJK SC for Chinese (a CJK character is exactly two Latin columns wide in it). Fonts are looked
up by file name in the usual font folders of Linux, BSD and macOS, so no one distribution's path is assumed;
a missing font is a clear `FontMissing` naming the package to install, never a PDF full of empty boxes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final


class FontMissing(RuntimeError):
    """No font file with the glyphs a receipt needs is installed."""


@dataclass(frozen=True, slots=True)
class Font:
    path: Path
    index: int  # the face inside a TrueType/OpenType collection (.ttc); 0 for a single font file


@dataclass(frozen=True, slots=True)
class _Wanted:
    files: tuple[tuple[str, int], ...]  # (file name, face index), the first found wins
    package: str  # what to install when none is found


# "Noto Sans Mono CJK SC" is face 7 of NotoSansCJK-*.ttc (Sans JP KR SC TC HK, then Sans Mono JP KR SC ...)
_NOTO_MONO_SC: Final = 7
_WANTED: Final = {
    ("latin", False): _Wanted((("DejaVuSansMono.ttf", 0),), "fonts-dejavu-core"),
    ("latin", True): _Wanted((("DejaVuSansMono-Bold.ttf", 0),), "fonts-dejavu-core"),
    ("cjk", False): _Wanted(
        (("NotoSansCJK-Regular.ttc", _NOTO_MONO_SC), ("NotoSansMonoCJKsc-Regular.otf", 0)), "fonts-noto-cjk"
    ),
    ("cjk", True): _Wanted(
        (("NotoSansCJK-Bold.ttc", _NOTO_MONO_SC), ("NotoSansMonoCJKsc-Bold.otf", 0)), "fonts-noto-cjk"
    ),
}


def font_dirs() -> list[Path]:
    """Where fonts live: the XDG data folders (Linux, BSD), the user's own, macOS's."""
    data_dirs = os.environ.get("XDG_DATA_DIRS") or "/usr/local/share:/usr/share"
    dirs = [Path(folder) / "fonts" for folder in data_dirs.split(":") if folder]
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


def script_of(language: str) -> str:
    return "cjk" if language.startswith("zh") else "latin"


def font_for(language: str, *, bold: bool = False) -> Font:
    """The monospaced font for `language`'s receipts, or `FontMissing` saying what to install."""
    wanted = _WANTED[(script_of(language), bold)]
    for name, index in wanted.files:
        path = _find(name)
        if path is not None:
            return Font(path, index if path.suffix == ".ttc" else 0)
    names = ", ".join(name for name, _ in wanted.files)
    folders = ", ".join(map(str, font_dirs())) or "no font folder"
    raise FontMissing(
        f"no receipt font for {language!r}: none of {names} in {folders}; "
        f"install the {wanted.package} package (Debian/Ubuntu) or that font"
    )
