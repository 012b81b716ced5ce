"""The self-service kiosk (`/kiosk/`): a touch page in Chromium kiosk mode, bound to a retailer's terminal."""
