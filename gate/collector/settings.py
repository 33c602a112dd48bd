"""Django settings of the collector: one process, one settings object (see `gate.collector.django_db`).

The database is not fixed here: ``default`` comes from ``GATE_COLLECTOR_DB`` (a URL, default
``sqlite:///collector.db``) and every collector built in the same process with another URL gets
its own alias at run time (`gate.collector.django_db.database_alias`); a router sends each request
to the alias of the collector that received it. ``SECRET_KEY`` comes from
``GATE_COLLECTOR_SECRET_KEY``, or from the file named by ``GATE_COLLECTOR_SECRET_FILE`` (made with a
random key when missing), or is random for this process (sessions then end with the process).
"""

from __future__ import annotations

import importlib.util
import os
import secrets
from pathlib import Path

from gate.collector.dburl import database_settings


def _secret_key() -> str:
    key = os.environ.get("GATE_COLLECTOR_SECRET_KEY")
    if key:
        return key
    path = os.environ.get("GATE_COLLECTOR_SECRET_FILE")
    if not path:
        return secrets.token_urlsafe(50)
    file = Path(path)
    if not file.exists():
        file.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(50))
    return file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = False
ALLOWED_HOSTS = ["*"]  # the collector sits behind the city's own proxy or on a private network

_CONSOLE = importlib.util.find_spec("gate.collector.console") is not None

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "gate.collector.apps.CollectorConfig",
] + (["gate.collector.console"] if _CONSOLE else [])

MIDDLEWARE = [
    "gate.collector.api.ContentLengthMiddleware",
    "gate.collector.api.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "gate.collector.urls"

TEMPLATES = [{
    "BACKEND": "django.template.backends.django.DjangoTemplates",
    "DIRS": [],
    "APP_DIRS": True,
    "OPTIONS": {"context_processors": [
        "django.template.context_processors.request",
        "django.template.context_processors.i18n",
        "django.contrib.auth.context_processors.auth",
        "django.contrib.messages.context_processors.messages",
    ]},
}]

DATABASES = {"default": database_settings(os.environ.get("GATE_COLLECTOR_DB",
                                                         "sqlite:///collector.db"))}
DATABASE_ROUTERS = ["gate.collector.django_db.CollectorRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Salted slow hashes (PBKDF2-SHA256 with Django's iteration count).
PASSWORD_HASHERS = ["django.contrib.auth.hashers.PBKDF2PasswordHasher"]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 10}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "/console/login"
LOGIN_REDIRECT_URL = "/console/"

SESSION_ENGINE = "django.contrib.sessions.backends.db"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 12 * 3600
CSRF_COOKIE_SAMESITE = "Lax"
if _CONSOLE:  # a refused form answered inside the console's frame
    CSRF_FAILURE_VIEW = "gate.collector.console.views.errors.csrf_failure"

# The device API reads and caps its own bodies (413 with a JSON body); Django must not refuse first.
DATA_UPLOAD_MAX_MEMORY_SIZE = None
APPEND_SLASH = False

USE_I18N = True
USE_TZ = True
TIME_ZONE = os.environ.get("GATE_COLLECTOR_TIME_ZONE", "Asia/Shanghai")
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "中文"), ("en", "English")]
LOCALE_PATHS = [str(Path(__file__).parent / "console" / "locale")]

STATIC_URL = "/console/static/"

LOGGING_CONFIG = None  # the CLI configures logging
