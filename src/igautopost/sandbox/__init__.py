"""A local emulator of the Instagram Graph API publishing endpoints.

Try, test and benchmark igautopost without Instagram: containers, publishing, quotas,
tokens, realistic error bodies, deterministic fault injection and an inspection log.
See docs/sandbox.md.

>>> from igautopost.sandbox import SandboxConfig, SandboxServer
>>> with SandboxServer(SandboxConfig(video_processing_seconds=5)) as sandbox:  # doctest: +SKIP
...     print(sandbox.url)
"""

from __future__ import annotations

from igautopost.sandbox.app import DroppedConnection, create_app
from igautopost.sandbox.config import ErrorSpec, FaultRule, SandboxConfig
from igautopost.sandbox.server import SandboxServer
from igautopost.sandbox.state import SandboxState

__all__ = [
    "DroppedConnection",
    "ErrorSpec",
    "FaultRule",
    "SandboxConfig",
    "SandboxServer",
    "SandboxState",
    "create_app",
]
