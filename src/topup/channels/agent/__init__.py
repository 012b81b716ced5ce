"""The agent console (`/agent/`): shop staff and customer service, behind a password, TOTP and roles."""
