# ApiVersions: v0-4
#
# Version notes:
# * v1: throttle_time_ms in the response
# * v3: flexible versions; client_software_name / client_software_version in the request;
#       supported/finalized features as tagged fields (we send none: default-valued tagged
#       fields are not written, which librdkafka 2.0.2 needs)
# * v4: no change to the layout (KIP-511 follow-up)
#
# The response header is always v0. A request newer than v4 is answered by the dispatcher
# with UNSUPPORTED_VERSION in the v0 layout, listing our ApiVersions range.
"""ApiVersions: advertise exactly the API versions the handlers serve."""

from __future__ import annotations

import re

from kafkalite.broker.registry import ADVERTISED, RequestContext, handles
from kafkalite.wire.api_keys import ApiKey
from kafkalite.wire.error_codes import ErrorCode
from kafkalite.wire.messages.api_versions import (
    ApiVersion,
    ApiVersionsRequest,
    ApiVersionsResponse,
)

# KIP-511: software name and version must match this, or the request is INVALID_REQUEST.
_SOFTWARE = re.compile(r"^[a-zA-Z0-9](?:[a-zA-Z0-9\-.]*[a-zA-Z0-9])?$")


def advertised() -> list[ApiVersion]:
    return [
        ApiVersion(api_key=api_key, min_version=lo, max_version=hi)
        for api_key, (lo, hi) in sorted(ADVERTISED.items())
    ]


@handles(ApiKey.API_VERSIONS, min_version=0, max_version=4)
async def api_versions(ctx: RequestContext, req: ApiVersionsRequest) -> ApiVersionsResponse:
    if ctx.api_version >= 3 and not (
        _SOFTWARE.match(req.client_software_name) and _SOFTWARE.match(req.client_software_version)
    ):
        return ApiVersionsResponse(error_code=ErrorCode.INVALID_REQUEST)
    return ApiVersionsResponse(error_code=ErrorCode.NONE, api_keys=advertised())
