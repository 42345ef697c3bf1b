"""Chat robots: each platform's documented message JSON, its signing, and how its answer says a message
was taken. Nothing here touches the database: api.notifications decides what to say and when, and the
webhook outbox (api.webhooks) sends it.

- 企业微信 (WeCom) group robot: POST {"msgtype": "markdown", "markdown": {"content"}} to
  https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY (the key in the URL is its only secret; no
  signing); content at most 4096 bytes; it answers {"errcode": 0, "errmsg": "ok"}.
- 钉钉 (DingTalk) custom robot: POST {"msgtype": "markdown", "markdown": {"title", "text"}} to
  https://oapi.dingtalk.com/robot/send?access_token=TOKEN. With 加签 the URL also carries `timestamp`
  (milliseconds) and `sign` = urlencode(base64(HMAC-SHA256(key=secret, message=timestamp + "\\n" +
  secret))), the timestamp within an hour of the request; it answers {"errcode": 0, "errmsg": "ok"}.
- 飞书 / Lark custom robot: POST {"msg_type": "post", "content": {"post": {"zh_cn"|"en_us": {"title",
  "content": [[{"tag": "text", "text"}, {"tag": "a", "text", "href"}], ...]}}}} to
  https://open.feishu.cn/open-apis/bot/v2/hook/ID. With 签名校验 the body also carries `timestamp`
  (seconds, as a string) and `sign` = base64(HMAC-SHA256(key=timestamp + "\\n" + secret, message="")),
  within an hour; the body at most 20 KB; it answers {"code": 0, "msg": "success"}.
- Slack incoming webhook: POST {"text", "blocks": [header, section(mrkdwn), ...]} to
  https://hooks.slack.com/services/T/B/X (the URL is the secret; no signing); it answers 200 "ok".

The WeCom, DingTalk and Feishu robots answer HTTP 200 even when they refuse a message (wrong signature,
sending too fast): a body whose errcode / code is not 0 is a failed attempt, retried like any other.
Signatures are made at each attempt (a retry hours later carries a fresh timestamp).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx

PLATFORMS = ("wecom", "dingtalk", "feishu", "slack")
SIGNED = ("dingtalk", "feishu")  # the platforms with a signing secret
# where each platform's robot URL carries its credential (checked when a channel is set up)
URL_CREDENTIAL = {"wecom": "key", "dingtalk": "access_token"}
WECOM_MAX_BYTES = 4096
FEISHU_MAX_BYTES = 20 * 1024
SLACK_SECTION_CHARS = 3000
SLACK_HEADER_CHARS = 150
FEISHU_LANGUAGE = {"zh": "zh_cn", "en": "en_us"}


class ChannelError(ValueError):
    """A channel's URL or secret that its platform would not accept: the message says which field."""


@dataclass(frozen=True)
class Piece:
    """A run of a line: plain text, or a link (href), optionally bold."""

    text: str
    href: str | None = None
    bold: bool = False


@dataclass
class Notice:
    """What to say, before any platform's format: a title and lines of pieces."""

    title: str
    lines: list[list[Piece]] = field(default_factory=list)
    language: str = "zh"

    def texts(self) -> list[str]:
        """Every text the notice carries (title, pieces, links): what redaction and tests look through."""
        out = [self.title]
        for line in self.lines:
            out += [p.text for p in line] + [p.href for p in line if p.href]
        return out


# --- formats ---------------------------------------------------------------------------------------------

_MARKDOWN_PLAIN = str.maketrans({"*": "＊", "`": "｀", "<": "＜", ">": "＞", "#": "＃", "_": "＿"})


def _plain(text: str) -> str:
    """Text that markdown shows as it is: markup characters as their full-width look-alikes, and no
    [text](link) (a lone [电话] placeholder stays as it is)."""
    return text.translate(_MARKDOWN_PLAIN).replace("](", "］(")


def _markdown_line(line: list[Piece]) -> str:
    """WeCom's and DingTalk's markdown: [text](href) links, **bold**; what is said is kept from being
    read as markup (full-width look-alikes of the markup characters)."""
    out = []
    for piece in line:
        text = _plain(piece.text)
        if piece.bold:
            text = f"**{text}**"
        out.append(f"[{text}]({piece.href})" if piece.href else text)
    return "".join(out)


def _fit_bytes(head: str, lines: list[str], sep: str, limit: int) -> str:
    """head and as many lines as fit in limit bytes (UTF-8), with … when some were left out."""
    text = head
    for index, line in enumerate(lines):
        candidate = text + sep + line
        rest = len(lines) - index - 1
        if len((candidate + (sep + "…" if rest else "")).encode()) > limit:
            return text + sep + "…"
        text = candidate
    return text


def _wecom(notice: Notice) -> dict[str, Any]:
    lines = [_markdown_line(line) for line in notice.lines]
    head = f"**{_plain(notice.title)}**"
    return {"msgtype": "markdown", "markdown": {"content": _fit_bytes(head, lines, "\n", WECOM_MAX_BYTES)}}


def _dingtalk(notice: Notice) -> dict[str, Any]:
    # DingTalk's markdown needs a blank line between paragraphs; the title is what the chat list shows
    lines = [_markdown_line(line) for line in notice.lines]
    head = f"#### {_plain(notice.title)}"
    return {"msgtype": "markdown", "markdown": {"title": notice.title, "text": "\n\n".join([head, *lines])}}


def _feishu(notice: Notice) -> dict[str, Any]:
    content = [[{"tag": "a", "text": p.text, "href": p.href} if p.href else {"tag": "text", "text": p.text}
                for p in line] for line in notice.lines]
    body = {"msg_type": "post", "content": {"post": {FEISHU_LANGUAGE.get(notice.language, "zh_cn"): {
        "title": notice.title, "content": content}}}}
    while len(content) > 1 and len(json.dumps(body, ensure_ascii=False).encode()) > FEISHU_MAX_BYTES - 200:
        content[-2:] = [[{"tag": "text", "text": "…"}]]  # room left for the timestamp and sign
    return body


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _slack_line(line: list[Piece]) -> str:
    """Slack's mrkdwn: <href|text> links, *bold* (a space after it: Slack reads a closing * only before
    a space or punctuation, and Chinese runs on without either)."""
    out = []
    for index, piece in enumerate(line):
        text = _slack_escape(piece.text)
        if piece.href:
            text = f"<{piece.href}|{text.replace('|', '¦')}>"
        if piece.bold and text.strip():
            following = line[index + 1].text if index + 1 < len(line) else " "
            text = f"*{text}*" + ("" if following[:1].isspace() else " ")
        out.append(text)
    return "".join(out)


def _slack(notice: Notice) -> dict[str, Any]:
    sections: list[str] = []
    for line in (_slack_line(line) for line in notice.lines):
        line = line[:SLACK_SECTION_CHARS]
        if sections and len(sections[-1]) + 1 + len(line) <= SLACK_SECTION_CHARS:
            sections[-1] += "\n" + line
        else:
            sections.append(line)
    blocks: list[dict[str, Any]] = [{"type": "header", "text": {
        "type": "plain_text", "text": notice.title[:SLACK_HEADER_CHARS]}}]
    blocks += [{"type": "section", "text": {"type": "mrkdwn", "text": s}} for s in sections[:49] if s.strip()]
    return {"text": notice.title, "blocks": blocks}


_RENDER = {"wecom": _wecom, "dingtalk": _dingtalk, "feishu": _feishu, "slack": _slack}


def render(platform: str, notice: Notice) -> dict[str, Any]:
    """The platform's message JSON for a notice (unsigned: signing is per attempt)."""
    return _RENDER[platform](notice)


# --- signing and sending ---------------------------------------------------------------------------------


def _hmac_base64(key: str, message: str) -> str:
    return base64.b64encode(hmac.new(key.encode(), message.encode(), hashlib.sha256).digest()).decode()


def dingtalk_sign(secret: str, timestamp_ms: str) -> str:
    """DingTalk 加签: base64 of HMAC-SHA256 under the secret of timestamp + "\\n" + secret (before the
    URL encoding its query needs)."""
    return _hmac_base64(secret, f"{timestamp_ms}\n{secret}")


def feishu_sign(secret: str, timestamp_s: str) -> str:
    """Feishu 签名校验: base64 of HMAC-SHA256 keyed with timestamp + "\\n" + secret over an empty message."""
    return _hmac_base64(f"{timestamp_s}\n{secret}", "")


def outgoing(platform: str, url: str, secret: str | None, message: dict[str, Any],
             now: datetime) -> tuple[str, bytes, dict[str, str]]:
    """(url, body, headers) of one attempt: signed now where the platform signs and a secret is set."""
    body = dict(message)
    if platform == "dingtalk" and secret:
        stamp = str(int(now.timestamp() * 1000))
        signature = {"timestamp": stamp, "sign": dingtalk_sign(secret, stamp)}
        url = str(httpx.URL(url).copy_merge_params(signature))
    elif platform == "feishu" and secret:
        stamp = str(int(now.timestamp()))
        body = {"timestamp": stamp, "sign": feishu_sign(secret, stamp), **body}
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return url, data, {"content-type": "application/json; charset=utf-8",
                       "user-agent": "callscope-notifications"}


def refusal(platform: str, response: httpx.Response) -> str | None:
    """None when a 2xx answer says the robot took the message, else why not (the answer's own words)."""
    text = response.text.strip()
    if platform == "slack":
        return None if text == "ok" else f"slack answered {text[:200]!r}"
    try:
        answer = response.json()
    except ValueError:
        return f"{platform} answered something that is not JSON: {text[:200]!r}"
    if not isinstance(answer, dict):
        return f"{platform} answered {text[:200]!r}"
    if platform == "feishu":  # {"code": 0, "msg": "success"}; its older answer: {"StatusCode": 0, ...}
        code = answer.get("code", answer.get("StatusCode"))
        words = answer.get("msg", answer.get("StatusMessage"))
    else:  # WeCom and DingTalk: {"errcode": 0, "errmsg": "ok"}
        code, words = answer.get("errcode"), answer.get("errmsg")
    return None if code == 0 else f"{platform} code {code}: {str(words)[:200]}"


# --- channel set-up --------------------------------------------------------------------------------------


def check_channel(platform: str, url: str, secret: str | None) -> None:
    """ChannelError unless the platform can use this URL and secret."""
    if platform not in PLATFORMS:
        raise ChannelError(f"platform: one of {', '.join(PLATFORMS)}")
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ChannelError("url: must be an http or https URL")
    needed = URL_CREDENTIAL.get(platform)
    if needed and not dict(parse_qsl(parts.query)).get(needed):
        raise ChannelError(f"url: a {platform} robot's URL carries {needed}=… (copy it whole from the "
                           "robot's settings)")
    if secret is not None:
        if platform not in SIGNED:
            raise ChannelError(f"secret: {platform} robots have no signing secret (the URL is the secret)")
        if not secret.strip():
            raise ChannelError("secret: empty")
        if platform == "dingtalk" and not secret.startswith("SEC"):
            raise ChannelError("secret: a DingTalk 加签 secret starts with SEC")


def masked_url(platform: str, url: str) -> str:
    """The URL as the API shows it: host and path, each query value and (Feishu, Slack: the token is the
    path's last part) the last path segment cut to their last 4 characters."""
    parts = urlsplit(url)

    def cut(value: str) -> str:
        return "…" + value[-4:] if len(value) > 8 else "…"

    path = parts.path
    if platform in ("feishu", "slack") and "/" in path:
        head, _, last = path.rpartition("/")
        path = f"{head}/{cut(last)}"
    query = "&".join(f"{key}={cut(value)}" for key, value in parse_qsl(parts.query, keep_blank_values=True))
    host = parts.hostname or ""
    if parts.port:
        host += f":{parts.port}"
    return f"{parts.scheme}://{host}{path}" + (f"?{query}" if query else "")
