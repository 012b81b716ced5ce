"""The SMSC simulator's PDU codec imports without `pkg_resources` (setuptools 82+, Python 3.12+ venvs)."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# `None` in sys.modules makes `import pkg_resources` fail as it does where setuptools ships none.
WITHOUT_PKG_RESOURCES = textwrap.dedent(
    """
    import sys
    sys.modules["pkg_resources"] = None
    from topup.simulators.smsc.pdu_codec import operations, pdu_encoding, pdu_types
    pdu = operations.EnquireLink(sequence_number=7)
    octets = pdu_encoding.PDUEncoder().encode(pdu)
    back = pdu_encoding.PDUEncoder().decode(__import__("io").BytesIO(octets))
    print(back.command_id is pdu_types.CommandId.enquire_link, back.sequence_number, len(octets))
    """
)


def test_the_codec_round_trips_a_pdu_without_pkg_resources() -> None:
    run = subprocess.run(
        [sys.executable, "-c", WITHOUT_PKG_RESOURCES], capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["True", "7", "16"]


def test_a_missing_codec_is_still_an_import_error() -> None:
    """Only the missing `pkg_resources` is worked around: any other import failure surfaces as it was."""
    code = 'import sys; sys.modules["smpp"] = None; import topup.simulators.smsc.pdu_codec'
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode != 0
    assert "ModuleNotFoundError" in run.stderr
