"""Safeguarding lead pages: approvals queue, audit log, who accessed a record."""

from django.urls import URLPattern

urlpatterns: list[URLPattern] = []
