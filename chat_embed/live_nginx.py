"""The nchan parts of an nginx configuration for the live chat (docs/live-chat.md): text that a
configuration generator, the tests and the benchmark include, so all three run the same locations.

No Django here: a generator may call these without settings.
"""

NCHAN_MODULE = "/usr/lib/nginx/modules/ngx_nchan_module.so"


def nginx_redis_upstream(name: str, redis_urls: list[str]) -> str:
    """An `upstream` of Redis servers that several nginx servers share (http level)."""
    servers = "".join(f"    nchan_redis_server {url};\n" for url in redis_urls)
    return f"upstream {name} {{\n{servers}}}\n"


def _storage(buffer: int, redis_upstream: str | None) -> str:
    lines = [
        f"    nchan_message_buffer_length {buffer};",
        "    nchan_message_timeout 1d;",
    ]
    if redis_upstream:
        lines.append(f"    nchan_redis_pass {redis_upstream};")
    return "\n".join(lines) + "\n"


def nginx_subscriber_locations(
    front_end: str, *, path: str = "/live/", buffer: int = 100, redis_upstream: str | None = None
) -> str:
    """The locations (server level) where browsers subscribe: `path`<channel>, each subscription
    authorised by the front end (`front_end`: an upstream name or host:port, without scheme; an
    upstream with `keepalive` saves a connection per subscription)."""
    return f"""location = /_lpcfe_live_authorize {{
    internal;
    proxy_pass http://{front_end}/chat/live/authorize/;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_pass_request_body off;
    proxy_set_header Content-Length "";
    proxy_set_header Host $http_host;
    proxy_set_header X-Original-URI $request_uri;
    proxy_set_header X-Channel-Id $nchan_channel_id;
    proxy_set_header X-Forwarded-For $remote_addr;
}}
location ~ ^{path}(room[0-9]+)$ {{
    nchan_subscriber eventsource;
    nchan_channel_id $1;
    nchan_authorize_request /_lpcfe_live_authorize;
    nchan_subscriber_first_message oldest;
    nchan_subscriber_last_message_id $http_last_event_id $arg_last_event_id;
    nchan_eventsource_ping_interval 30;
    add_header Cache-Control "no-store";
{_storage(buffer, redis_upstream)}}}
"""


def nginx_publisher_locations(*, path: str = "/pub/", buffer: int = 100, redis_upstream: str | None = None) -> str:
    """The publisher location, for a server that listens where only the front end reaches it."""
    return f"""location ~ ^{path}(room[0-9]+)$ {{
    nchan_publisher http;
    nchan_channel_id $1;
{_storage(buffer, redis_upstream)}}}
"""
