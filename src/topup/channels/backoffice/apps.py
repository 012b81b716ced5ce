"""Django's admin app with our site as the default one, so every `@admin.register` lands on it."""

from django.contrib.admin.apps import AdminConfig


class BackOfficeAdminConfig(AdminConfig):
    default_site = "topup.channels.backoffice.site.BackOfficeSite"
