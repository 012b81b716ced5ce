"""Django app that holds the persistence of the domain (models and migrations)."""

from django.apps import AppConfig


class TopupDbConfig(AppConfig):
    name = "topup.db"
    label = "topup"
    verbose_name = "Topup"
    default_auto_field = "django.db.models.BigAutoField"
