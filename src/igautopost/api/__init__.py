"""The optional HTTP API (``pip install 'igautopost[server]'``): ``/api/v1``, compatible with the
Django REST Framework service it replaces. `create_app(settings)` builds the app; importing
this package imports FastAPI and nothing else happens.
"""

from .app import create_app

__all__ = ["create_app"]
