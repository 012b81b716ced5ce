"""The PDU codec of `smpppdu` (`smpp.pdu`), importable on every supported Python.

smpppdu's `smpp/__init__.py` declares `smpp` a namespace with `pkg_resources`, which setuptools 82 removed,
and virtual environments bundle no setuptools from Python 3.12 on: there `import smpp` fails. Where it does,
`smpp` becomes the PEP 420 namespace package that declaration stood for; the codec modules are unchanged.
"""

from __future__ import annotations

import importlib
import importlib.machinery
import sys
import types


def _import_smpp_namespace() -> None:
    try:
        importlib.import_module("smpp")
    except ModuleNotFoundError as error:
        if error.name != "pkg_resources":
            raise
        spec = importlib.machinery.PathFinder.find_spec("smpp")
        if spec is None or not spec.submodule_search_locations:
            raise
        namespace = types.ModuleType("smpp")
        namespace.__path__ = list(spec.submodule_search_locations)
        sys.modules["smpp"] = namespace


_import_smpp_namespace()

from smpp.pdu import operations, pdu_encoding, pdu_types  # noqa: E402

__all__ = ["operations", "pdu_encoding", "pdu_types"]
