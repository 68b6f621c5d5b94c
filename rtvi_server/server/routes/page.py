"""``GET /``: the web page (talk to the bot, see its events, change its config)."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse, HTMLResponse, Response
from fastapi.staticfiles import StaticFiles

WEB_DIR = Path(__file__).resolve().parents[2] / "web"


def page_router() -> APIRouter:
    router = APIRouter()

    @router.get("/", include_in_schema=False)
    async def web_page() -> Response:
        if not (WEB_DIR / "static" / "app.js").is_file():
            return HTMLResponse(
                "<p>The web client is not built: run <code>scripts/bootstrap</code> "
                "(needs Node.js) to build it into rtvi_server/web/static.</p>",
                status_code=503,
            )
        return FileResponse(WEB_DIR / "index.html")

    return router


def mount_static(app: FastAPI) -> None:
    (WEB_DIR / "static").mkdir(exist_ok=True)
    app.mount("/static", StaticFiles(directory=WEB_DIR / "static"), name="static")
