"""SM-DP+ simulator: an aiohttp server speaking ES2+ (GSMA SGP.22) to the operator, with pools of profiles per
profileType, a phone hook that downloads and installs a profile and notifies the operator
(HandleDownloadProgressInfo), seeded faults and optional SQLite persistence.
`python -m topup.simulators.smdp` runs it.
"""

from topup.simulators.smdp.cli import add_arguments, run

__all__ = ["add_arguments", "run"]
