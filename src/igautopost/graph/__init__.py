"""The Instagram Graph API client: calls, request parameters and the errors Meta answers with.

>>> from igautopost.graph import GraphClient, TransientError, image_params
>>> client = GraphClient(timeout=10)
>>> try:                                                                   # doctest: +SKIP
...     container_id = client.create_container(ig_user_id, image_params(spec), token=token)
... except TransientError as exc:
...     retry_later(exc)

The client sends through a `Transport` (one method, `send`): `Urllib3Transport` by default,
`MockTransport(handler)` to answer with a plain function, without a server.

Names are imported on first use, so that importing `igautopost.graph.errors` (or this
package) does not import `requests`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_exports

_EXPORTS = {
    "GraphClient": "client",
    "MockTransport": "transport",
    "Request": "messages",
    "Response": "messages",
    "Transport": "transport",
    "Urllib3Transport": "transport",
    "OpensAhead": "prepared",
    "Prepared": "prepared",
    "ContainerStatus": "responses",
    "ContainerStatusCode": "responses",
    "LongLivedToken": "responses",
    "MediaInfo": "responses",
    "PublishingLimit": "responses",
    "UploadContainer": "responses",
    "MediaSource": "params",
    "AccountRestricted": "errors",
    "Action": "errors",
    "ContainerNotReady": "errors",
    "GraphConnectionError": "errors",
    "GraphError": "errors",
    "GraphNetworkError": "errors",
    "GraphServerError": "errors",
    "GraphTimeout": "errors",
    "InvalidParameter": "errors",
    "MediaRejected": "errors",
    "PermissionMissing": "errors",
    "PublishingLimitReached": "errors",
    "RateLimited": "errors",
    "TokenInvalid": "errors",
    "TransientError": "errors",
    "ERROR_TABLE": "error_table",
    "ErrorRule": "error_table",
    "error_from_response": "error_table",
    "error_from_status": "error_table",
    "rule_for": "error_table",
    "retry_after_from_headers": "ratelimit",
    "carousel_child_params": "params",
    "carousel_parent_params": "params",
    "container_params": "params",
    "image_params": "params",
    "reel_params": "params",
    "story_params": "params",
}

__all__ = [
    "ERROR_TABLE",
    "AccountRestricted",
    "Action",
    "ContainerNotReady",
    "ContainerStatus",
    "ContainerStatusCode",
    "ErrorRule",
    "GraphClient",
    "GraphConnectionError",
    "GraphError",
    "GraphNetworkError",
    "GraphServerError",
    "GraphTimeout",
    "InvalidParameter",
    "LongLivedToken",
    "MediaInfo",
    "MediaRejected",
    "MediaSource",
    "MockTransport",
    "OpensAhead",
    "PermissionMissing",
    "Prepared",
    "PublishingLimit",
    "PublishingLimitReached",
    "RateLimited",
    "Request",
    "Response",
    "TokenInvalid",
    "TransientError",
    "Transport",
    "UploadContainer",
    "Urllib3Transport",
    "carousel_child_params",
    "carousel_parent_params",
    "container_params",
    "error_from_response",
    "error_from_status",
    "image_params",
    "reel_params",
    "retry_after_from_headers",
    "rule_for",
    "story_params",
]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, globals())


if TYPE_CHECKING:
    from .client import GraphClient
    from .error_table import (
        ERROR_TABLE,
        ErrorRule,
        error_from_response,
        error_from_status,
        rule_for,
    )
    from .errors import (
        AccountRestricted,
        Action,
        ContainerNotReady,
        GraphConnectionError,
        GraphError,
        GraphNetworkError,
        GraphServerError,
        GraphTimeout,
        InvalidParameter,
        MediaRejected,
        PermissionMissing,
        PublishingLimitReached,
        RateLimited,
        TokenInvalid,
        TransientError,
    )
    from .messages import Request, Response
    from .params import (
        MediaSource,
        carousel_child_params,
        carousel_parent_params,
        container_params,
        image_params,
        reel_params,
        story_params,
    )
    from .prepared import OpensAhead, Prepared
    from .ratelimit import retry_after_from_headers
    from .responses import (
        ContainerStatus,
        ContainerStatusCode,
        LongLivedToken,
        MediaInfo,
        PublishingLimit,
        UploadContainer,
    )
    from .transport import MockTransport, Transport, Urllib3Transport
