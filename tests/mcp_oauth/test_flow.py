"""An agent connects to local-dev's /mcp by URL, as Claude or VS Code do, with the official
MCP Python SDK: discovery from the 401, dynamic registration, the consent page (driven in
headless chromium: log in, allow), the code exchange with PKCE, tools/list, remember and
recall; then its access token expires (local-dev runs with a short access-token lifetime)
and the SDK refreshes by itself and keeps working. The context's activity trail shows
exactly those calls, without their text. Finally the user revokes the app: the agent's
next call is refused and its refresh token is dead.

Usage: python tests/mcp_oauth/test_flow.py BASE_URL ACCESS_TOKEN_SECONDS
"""

import asyncio
import json
import secrets
import sys
import urllib.error
import urllib.request
from urllib.parse import parse_qs, urlsplit

import httpx2
from mcp.client.auth import OAuthClientProvider, TokenStorage
from mcp.client.session import ClientSession
from mcp.client.streamable_http import streamable_http_client
from mcp.shared._httpx_utils import create_mcp_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)
from playwright.async_api import async_playwright

BASE, TTL = sys.argv[1].rstrip("/"), int(sys.argv[2])
CALLBACK = "http://127.0.0.1:9/callback"  # never reached: the browser's request is intercepted
EMAIL = f"agent-owner-{secrets.token_hex(4)}@example.com"
PASSWORD = "a long passphrase for the agent test"


def rest(method, path, body=None, token=None):
    request = urllib.request.Request(
        BASE + path, method=method, data=None if body is None else json.dumps(body).encode()
    )
    request.add_header("content-type", "application/json")
    if token:
        request.add_header("authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


class MemoryStorage(TokenStorage):
    def __init__(self):
        self.tokens: OAuthToken | None = None
        self.client: OAuthClientInformationFull | None = None
        self.issued: list[OAuthToken] = []

    async def get_tokens(self):
        return self.tokens

    async def set_tokens(self, tokens):
        self.tokens = tokens
        self.issued.append(tokens)

    async def get_client_info(self):
        return self.client

    async def set_client_info(self, client_info):
        self.client = client_info


class Consent:
    """The user's side: the browser that opens the authorization URL, logs in and allows."""

    def __init__(self, browser):
        self.browser = browser
        self.redirect: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self.seen_page: dict = {}

    async def open(self, url: str) -> None:
        page = await (await self.browser.new_context()).new_page()

        async def catch_callback(route):
            if not self.redirect.done():
                self.redirect.set_result(route.request.url)
            await route.fulfill(status=200, body="done")

        await page.route(CALLBACK + "**", catch_callback)
        await page.goto(url)
        await page.fill("#email", EMAIL)
        await page.fill("#password", PASSWORD)
        await page.click("#login-form button[type=submit], #login-form [type=submit]")
        await page.wait_for_selector("#consent-allow", state="visible", timeout=15_000)
        self.seen_page["text"] = await page.inner_text("body")
        await page.click("#consent-allow")

    async def callback(self) -> AuthorizationCodeResult:
        url = await asyncio.wait_for(self.redirect, timeout=30)
        query = parse_qs(urlsplit(url).query)
        assert "code" in query, f"no code in the redirect: {url}"
        return AuthorizationCodeResult(
            code=query["code"][0], state=query.get("state", [None])[0], iss=query.get("iss", [None])[0]
        )


def text_of(result) -> str:
    return "".join(getattr(part, "text", "") for part in result.content)


async def main() -> None:
    status, body = rest("POST", "/auth/signup/individual", {"email": EMAIL, "password": PASSWORD, "name": "Agent Owner"})
    assert status == 201, (status, body)
    status, body = rest("POST", "/auth/login", {"email": EMAIL, "password": PASSWORD})
    assert status == 200, (status, body)
    rest_token = body["user"]["jwt_token"]
    status, body = rest("POST", "/contexts", {"name": "agent-notes", "description": "What the agent keeps"}, rest_token)
    assert status == 201, (status, body)

    # Without a token /mcp points at its metadata, which is where the SDK starts.
    async with httpx2.AsyncClient() as plain:
        refused = await plain.post(BASE + "/mcp", json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
    assert refused.status_code == 401, refused.status_code
    assert "resource_metadata=" in refused.headers.get("www-authenticate", ""), refused.headers

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        )
        consent = Consent(browser)
        storage = MemoryStorage()
        provider = OAuthClientProvider(
            server_url=BASE + "/mcp",
            client_metadata=OAuthClientMetadata(
                client_name="SDK test agent",
                redirect_uris=[CALLBACK],
                grant_types=["authorization_code", "refresh_token"],
                response_types=["code"],
                token_endpoint_auth_method="none",
                scope="memories:read memories:write",
            ),
            storage=storage,
            redirect_handler=consent.open,
            callback_handler=consent.callback,
        )
        async with create_mcp_http_client(auth=provider) as http:
            async with streamable_http_client(BASE + "/mcp", http_client=http, terminate_on_close=False) as (read, write, *_):
                async with ClientSession(read, write) as session:
                    await session.initialize()
                    assert "SDK test agent" in consent.seen_page["text"], "the consent page names the client"

                    tools = {tool.name: tool for tool in (await session.list_tools()).tools}
                    assert {"list_contexts", "recall", "remember", "forget", "create_context"} <= set(tools), tools.keys()
                    assert tools["recall"].annotations and tools["recall"].annotations.read_only_hint is True

                    stored = await session.call_tool("remember", {"context": "agent-notes", "text": "The deploy key rotates on Fridays", "tags": ["ops"]})
                    assert not stored.is_error, text_of(stored)
                    found = await session.call_tool("recall", {"context": "agent-notes", "query": "deploy"})
                    assert not found.is_error and "rotates on Fridays" in text_of(found), text_of(found)
                    first = storage.tokens
                    assert first is not None and first.refresh_token

                    # The access token dies; the SDK refreshes by itself and carries on.
                    await asyncio.sleep(TTL + 2)
                    again = await session.call_tool("recall", {"context": "agent-notes", "query": "Fridays"})
                    assert not again.is_error and "rotates on Fridays" in text_of(again), text_of(again)
                    assert storage.tokens.access_token != first.access_token, "a new access token"
                    assert storage.tokens.refresh_token != first.refresh_token, "the refresh token rotated"

                    # The trail: the three calls that touched the context, newest first, with
                    # who and how many, never the text.
                    status, body = rest("GET", "/contexts/agent-notes/activity", token=rest_token)
                    assert status == 200, (status, body)
                    trail = [(entry["action"], entry["count"], entry["client_name"]) for entry in body["activity"]]
                    assert trail == [("recall", 1, "SDK test agent"), ("recall", 1, "SDK test agent"), ("remember", 1, "SDK test agent")], trail
                    assert "Fridays" not in json.dumps(body), "no memory text in the trail"

                    # The user sees the app and revokes it; the agent's next call is refused.
                    status, body = rest("GET", "/auth/grants", token=rest_token)
                    assert status == 200, (status, body)
                    grants = [g for g in body["grants"] if g["client_name"] == "SDK test agent"]
                    assert len(grants) == 1, body
                    status, body = rest("DELETE", f"/auth/grants/{grants[0]['grant_id']}", token=rest_token)
                    assert status in (200, 204), (status, body)
        await browser.close()

    async with httpx2.AsyncClient() as plain:
        after = await plain.post(
            BASE + "/mcp",
            headers={"authorization": "Bearer " + storage.tokens.access_token, "accept": "application/json, text/event-stream"},
            json={"jsonrpc": "2.0", "id": 1, "method": "tools/list"},
        )
    assert after.status_code == 401, f"a revoked grant's token is refused: {after.status_code}"
    token_answer = httpx2.post(
        BASE + "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": storage.tokens.refresh_token, "client_id": storage.client.client_id},
    )
    assert token_answer.status_code == 400 and token_answer.json()["error"] == "invalid_grant", token_answer.text
    print("mcp oauth flow: discovery, registration, consent in chromium, code + PKCE, tools, refresh by itself, revocation: ok")


asyncio.run(main())
