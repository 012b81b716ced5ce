"""The REST API (django-ninja): routers are thin, each turns a request into one service call."""
