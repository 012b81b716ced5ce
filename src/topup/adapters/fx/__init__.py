"""Exchange-rate feeds: the ECB's euro reference rates."""
