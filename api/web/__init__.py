"""The web pages: server-rendered Jinja2 over the same services as the JSON API.

Mount with `app.include_router(api.web.router)` (no prefix): it serves /, /login, /logout, /overview,
/calls, /calls/{id}, /reps/{id}, /trackers and /static/web/*. Pages read `request.app.state.settings` and
`request.app.state.sessions` (like api.deps) and sign in through the `callscope_token` cookie.
"""

from fastapi import APIRouter

from callscope.api.web import auth, pages, tracker_pages

router = APIRouter()
router.include_router(auth.router)
router.include_router(pages.router)
router.include_router(tracker_pages.router)

__all__ = ["router"]
