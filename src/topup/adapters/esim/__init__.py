"""eSIM adapters: the ES2+ client that orders profiles from an SM-DP+, and the parser of its notifications."""

from topup.adapters.esim.es2plus import Es2PlusClient, Es2Result, ProgressInfo, parse_progress_notification

__all__ = ["Es2PlusClient", "Es2Result", "ProgressInfo", "parse_progress_notification"]
