"""Manager pages: decision reports, charts and exports."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
