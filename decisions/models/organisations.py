"""Organisations (partner agencies) and their users, who each have one role."""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone


class OrganisationKind(models.TextChoices):
    LOCAL_AUTHORITY = "local_authority", "Local authority"
    DISTRICT_COUNCIL = "district_council", "District or borough council"
    POLICE = "police", "Police"
    HEALTH = "health", "Health"
    PROBATION = "probation", "Probation"
    FIRE = "fire", "Fire and rescue"
    EDUCATION = "education", "School or education"
    CHARITY = "charity", "Charity or voluntary sector"
    OTHER = "other", "Other"


class Organisation(models.Model):
    name = models.CharField(max_length=200, unique=True)
    slug = models.SlugField(max_length=80, unique=True)
    kind = models.CharField(max_length=32, choices=OrganisationKind.choices)
    address = models.TextField(blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    PRACTITIONER = "practitioner", "Practitioner"
    LEAD = "lead", "Safeguarding lead"
    MANAGER = "manager", "Manager"
    ADMIN = "admin", "Administrator"


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra: Any) -> User:
        if not email:
            raise ValueError("Users need an email address")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra: Any) -> User:
        extra.setdefault("role", Role.ADMIN)
        extra.setdefault("is_staff", True)
        extra.setdefault("is_superuser", True)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    """Signs in with an email address; belongs to one organisation with one role."""

    email = models.EmailField(unique=True)
    full_name = models.CharField(max_length=150)
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="users", null=True, blank=True
    )
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.PRACTITIONER)
    job_title = models.CharField(max_length=150, blank=True)
    # Partnership-level managers report across every organisation (aggregates only).
    partnership_wide = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["full_name"]

    class Meta:
        ordering = ["email"]

    def __str__(self) -> str:
        return self.full_name or self.email

    def has_role(self, *roles: str) -> bool:
        return self.is_active and self.role in roles
