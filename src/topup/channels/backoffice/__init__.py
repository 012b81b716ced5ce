"""The staff back office beyond Django's stock admin: our own admin site with its header, the dashboard
(charts drawn server-side as SVG), streamed CSV exports and retailer settlements."""
