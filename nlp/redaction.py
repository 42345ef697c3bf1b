"""Redaction: personal numbers and addresses out of a transcript, right after ASR.

Finds, in Mandarin and English as ASR writes them (digits, 一三八…, 幺三八…, "one three eight…", grouped,
"double five", split across two turns of one speaker):

- phone numbers: mobile and landline (`phonenumbers`), mainland China first, then US/GB and "+CC";
- Chinese resident ID numbers (18 characters, checksum and birth date, `python-stdnum`);
- bank card numbers (Luhn, `python-stdnum`, with a card-like prefix when nothing in the context says card);
- e-mail addresses, written or spoken ("john dot li at gmail dot com", zhangsan艾特qq点com).

A checksum confirms an intact number, but ASR drops and changes digits, so a run of seven or more digits
said in a personal context (身份证, 卡号, 手机, 电话, account, card, phone …) is redacted even when no
check passes. Look-alikes are kept: a run followed by a unit (元, 台, dollars), a date, or said in an
order/invoice/tracking context is not a phone number; short runs are never personal.

`redact_transcript` replaces each found span in the turn text (and in the words) by a placeholder
([电话] [身份证] [银行卡] [邮箱] in Mandarin turns, [phone] [id] [card] [email] in English ones) and lists
it on the turn as a Redaction with its kind and time span. The found value travels only in memory
(Redaction.value, never serialised) so a caller can keep a salted hash of it for erasure requests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from callscope.models.document import Redaction, Transcript, Turn, Word
from callscope.nlp.resources import load_yaml

KINDS = ("phone", "id", "card", "email")
# raised whenever the rules find more than before: `callscope privacy backfill` re-redacts calls stored under
# an older version (2: phone-band soundalikes of digit words, garbled replies to an e-mail question)
RULES_VERSION = 2
PLACEHOLDERS = {
    "zh": {"phone": "[电话]", "id": "[身份证]", "card": "[银行卡]", "email": "[邮箱]"},
    "en": {"phone": "[phone]", "id": "[id]", "card": "[card]", "email": "[email]"},
}

# --- digits as people say them --------------------------------------------------------------------

_ZH_DIGITS = {"零": "0", "〇": "0", "洞": "0", "一": "1", "幺": "1", "二": "2", "两": "2", "三": "3",
              "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}
_EN_DIGITS = {"zero": "0", "oh": "0", "o": "0", "one": "1", "two": "2", "three": "3", "four": "4",
              "five": "5", "six": "6", "seven": "7", "eight": "8", "nine": "9"}
_EN_TEENS = {"ten": "10", "eleven": "11", "twelve": "12", "thirteen": "13", "fourteen": "14",
             "fifteen": "15", "sixteen": "16", "seventeen": "17", "eighteen": "18", "nineteen": "19"}
_EN_TENS = {"twenty": "2", "thirty": "3", "forty": "4", "fifty": "5", "sixty": "6", "seventy": "7",
            "eighty": "8", "ninety": "9"}
_EN_REPEAT = {"double": 2, "triple": 3}
# what phone-band ASR writes for a digit word ("time" for five): nlp/data/spoken_digits.yaml
_EN_SOUNDALIKE = {said: digit for digit, words in load_yaml("spoken_digits.yaml")["en_soundalikes"].items()
                  for said in words}
_EN_SOUNDALIKE_RE = re.compile(
    "(?:" + "|".join(re.escape(w).replace(r"\ ", r"\s+")
                     for w in sorted(_EN_SOUNDALIKE, key=len, reverse=True)) + r")(?![A-Za-z'])",
    re.IGNORECASE)
_FULLWIDTH = {chr(0xFF10 + i): str(i) for i in range(10)}
# what may sit between the digits of one number: spaces, dashes, commas, a hesitation
_PLUS = re.compile(r"(?:\+|\bplus\s+|加)\s*\(?$", re.IGNORECASE)
_GAP_CHARS = set(" \t-–—,，、.·()（）")
_FILLERS = ("嗯", "呃", "额")
_EN_GAPWORDS = ("dash", "hyphen")

# --- context: what the words around a number say it is --------------------------------------------

_CONTEXT = [
    # (kind, words); "neg": an order, invoice, tracking or model number, an amount: not personal
    ("id", "身份证|证件号|身份号|证件|id number|id card|identity|passport|social security|national id"),
    ("card", "account number|card number|account no|银行卡|信用卡|储蓄卡|借记卡|卡号|账号|帐号|账户|"
             "帐户|银行账|银行|card|account|iban|credit|debit|bank"),
    ("phone", "phone number|mobile number|手机|电话|号码|联系方式|联系|座机|微信|打给我|打我|致电|分机|"
              "phone|mobile|cell|number|call me|reach me|text me|whatsapp|landline|extension|contact"),
    ("neg", "订单号码|订单号|快递单号|合同号码|发票号码|订单|单号|快递|运单|物流|合同号|合同编号|"
            "发票|工单|编号|型号|批次|序列号|报价单|价格|金额|总价|预算|数量|库存|门店|"
            "order number|tracking number|invoice number|reference number|serial number|model number|"
            "po number|p o number|number of|order|invoice|tracking|reference|ticket|serial|model|"
            "purchase|quote|contract|"
            "case number|batch|sku|price|budget|total|units|licenses|licences|seats|amount|revenue"),
]
_CONTEXT_RE = re.compile(
    "|".join(sorted((re.escape(w) for _, ws in _CONTEXT for w in ws.split("|")), key=len, reverse=True)),
    re.IGNORECASE)
_CONTEXT_KIND = {w.lower(): kind for kind, ws in _CONTEXT for w in ws.split("|")}
# a run followed by one of these is an amount or a quantity
_UNIT_AFTER = re.compile(r"^\s*(?:元|块|毛|万|亿|台|个|件|套|张|份|人|家|天|年|月|日|号楼|号|"
                         r"点|分|秒|岁|%|％|折|米|公斤|吨|千|百|dollars?|yuan|rmb|usd|bucks|units?|pieces?|percent|per|people|"
                         r"users?|seats?|licen[cs]es?|days?|months?|years?|hours?|minutes?|k\b|m\b)",
                         re.IGNORECASE)
_UNIT_BEFORE = re.compile(r"(?:[¥$￥€£]|rmb|usd|第)\s*$", re.IGNORECASE)
_CONTEXT_CHARS = 24  # how far before a number its context may be, within the turn


@dataclass
class _Atom:
    start: int  # character offsets in the turn text
    end: int
    digits: str  # "" for an X (the ID check character)
    soundalike: bool = False  # a word ASR wrote for a digit (spoken_digits.yaml): a digit only beside one


@dataclass
class _Run:
    turn: int
    start: int
    end: int
    digits: str
    x_end: bool = False  # ends with an ID check character X


@dataclass
class Found:
    turn: int
    start: int  # character offsets in the turn text
    end: int
    kind: str
    value: str  # normalised: digits (phone: national form) or the address


_EN_WORD = re.compile(r"[A-Za-z]+")


def _atoms(text: str) -> list[_Atom | str]:
    """The text as digit atoms and gaps: a list of _Atom and, between them, the separator kind
    ("gap": joinable, "break": anything else)."""
    out: list[_Atom | str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isascii() and ch.isdigit():
            out.append(_Atom(i, i + 1, ch))
            i += 1
            continue
        if ch in _FULLWIDTH:
            out.append(_Atom(i, i + 1, _FULLWIDTH[ch]))
            i += 1
            continue
        if ch in _ZH_DIGITS:
            out.append(_Atom(i, i + 1, _ZH_DIGITS[ch]))
            i += 1
            continue
        if ch in "Xx叉" and out and isinstance(out[-1], _Atom) and out[-1].end == i and \
                (ch == "叉" or not (i + 1 < n and text[i + 1].isalpha() and text[i + 1].isascii())):
            out.append(_Atom(i, i + 1, ""))
            i += 1
            continue
        if ch.isascii() and ch.isalpha():
            m = _EN_WORD.match(text, i)
            word = m.group(0)
            low = word.lower()
            alike = None if low in _EN_DIGITS or low in _EN_TEENS or low in _EN_TENS or low in _EN_REPEAT \
                or (i > 0 and text[i - 1].isalpha()) else _EN_SOUNDALIKE_RE.match(text, i)
            if alike is not None:
                said = re.sub(r"\s+", " ", alike.group(0).lower())
                out.append(_Atom(i, alike.end(), _EN_SOUNDALIKE[said], soundalike=True))
                i = alike.end()
                continue
            if low in _EN_DIGITS and (low not in ("o", "oh") or _near_digit(out)):
                out.append(_Atom(i, m.end(), _EN_DIGITS[low]))
            elif low in _EN_TEENS:
                out.append(_Atom(i, m.end(), _EN_TEENS[low]))
            elif low in _EN_TENS:
                # twenty-one -> 21, twenty alone -> 20
                rest = re.match(r"[\s\-]+([A-Za-z]+)", text[m.end():])
                if rest and rest.group(1).lower() in _EN_DIGITS and rest.group(1).lower() not in ("o", "oh",
                                                                                                  "zero"):
                    end = m.end() + rest.end()
                    out.append(_Atom(i, end, _EN_TENS[low] + _EN_DIGITS[rest.group(1).lower()]))
                    i = end
                    continue
                out.append(_Atom(i, m.end(), _EN_TENS[low] + "0"))
            elif low in _EN_REPEAT:
                nxt = re.match(r"\s+([A-Za-z]+|\d)", text[m.end():])
                digit = None
                if nxt:
                    tok = nxt.group(1).lower()
                    digit = tok if tok.isdigit() else _EN_DIGITS.get(tok)
                if digit is not None:
                    end = m.end() + nxt.end()
                    out.append(_Atom(i, end, digit * _EN_REPEAT[low]))
                    i = end
                    continue
                out.append("break")
            elif low in _EN_GAPWORDS or low == "and" and _near_digit(out):
                out.append("gap")
            else:
                out.append("break")
            i = m.end()
            continue
        if ch in _GAP_CHARS:
            # a decimal point or a thousands comma between written digits joins nothing personal
            if ch == "." and i > 0 and text[i - 1].isdigit() and i + 1 < n and text[i + 1].isdigit():
                out.append("break")
            else:
                out.append("gap")
            i += 1
            continue
        if ch in _FILLERS:
            out.append("gap")
            i += 1
            continue
        out.append("break")
        i += 1
    return _settle_soundalikes(out)


def _settle_soundalikes(out: list[_Atom | str]) -> list[_Atom | str]:
    """A soundalike stays a digit only in a stretch (between two breaks) that holds a real digit."""
    settled: list[_Atom | str] = []
    stretch: list[_Atom | str] = []

    def close() -> None:
        real = any(isinstance(item, _Atom) and not item.soundalike for item in stretch)
        settled.extend(item if real or not isinstance(item, _Atom) or not item.soundalike else "break"
                       for item in stretch)
        stretch.clear()

    for item in out:
        if item == "break":
            close()
            settled.append(item)
        else:
            stretch.append(item)
    close()
    return settled


def _near_digit(out: list[_Atom | str]) -> bool:
    for item in reversed(out):
        if isinstance(item, _Atom):
            return True
        if item == "break":
            return False
    return False


def _runs(turn_index: int, text: str) -> list[_Run]:
    runs: list[_Run] = []
    current: list[_Atom] = []

    def close() -> None:
        if current:
            digits = "".join(a.digits for a in current)
            x_end = current[-1].digits == ""
            start = current[0].start
            plus = _PLUS.search(text[:start])  # "+86 …", "plus forty four …": the sign goes with it
            runs.append(_Run(turn_index, plus.start() if plus else start, current[-1].end, digits, x_end))
            current.clear()

    for item in _atoms(text):
        if isinstance(item, _Atom):
            if current and current[-1].digits == "":  # nothing follows an X
                close()
            if item.digits == "" and not current:
                continue
            current.append(item)
        elif item == "break":
            close()
    close()
    return runs


# --- what a run of digits is -----------------------------------------------------------------------


def _phone(digits: str, language: str = "zh") -> str | None:
    """The E.164 form of a valid phone number (CN first in Mandarin, US first in English, then GB and
    +CC), else None."""
    import phonenumbers

    candidates = [(digits, "CN")] if language != "en" or _china_mobile(digits) else [(digits, "US")]
    if digits.startswith("0086"):
        candidates.insert(0, ("+" + digits[2:], None))
    elif digits.startswith("86") and len(digits) >= 12:
        candidates.insert(0, ("+" + digits, None))
    candidates += [(digits, "CN"), (digits, "US"), (digits, "GB")]
    if len(digits) >= 11 and not digits.startswith("0"):
        candidates.append(("+" + digits, None))
    for raw, region in candidates:
        try:
            number = phonenumbers.parse(raw, region)
        except phonenumbers.NumberParseException:
            continue
        if phonenumbers.is_valid_number(number):
            return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    return None


def _china_mobile(digits: str) -> bool:
    return len(digits) == 11 and digits[0] == "1" and digits[1] in "3456789"


def _resident_id(digits: str, x_end: bool) -> bool:
    from stdnum.cn import ric

    value = digits + ("X" if x_end else "")
    return len(value) == 18 and ric.is_valid(value)


_PROVINCES = {"11", "12", "13", "14", "15", "21", "22", "23", "31", "32", "33", "34", "35", "36", "37",
              "41", "42", "43", "44", "45", "46", "50", "51", "52", "53", "54", "61", "62", "63", "64",
              "65", "71", "81", "82"}


def _id_like(digits: str, x_end: bool) -> bool:
    """An ID number with a digit dropped or changed: 16-18 characters, a province code and a birth date."""
    n = len(digits) + (1 if x_end else 0)
    if not 16 <= n <= 19 or digits[:2] not in _PROVINCES:
        return False
    for offset in (6, 5, 7):  # where the birth date sits, give or take a dropped digit before it
        date = digits[offset:offset + 8]
        if len(date) == 8 and date[:2] in ("19", "20") and 1 <= int(date[4:6]) <= 12 and \
                1 <= int(date[6:8]) <= 31:
            return True
    return False


def _card(digits: str, context: str | None) -> bool:
    from stdnum import luhn

    if not 13 <= len(digits) <= 19 or not luhn.is_valid(digits):
        return False
    if context == "card":
        return True
    # no word says card: only a card-like issuer prefix and length (UnionPay 62, Visa 4, Mastercard 5,
    # Amex 34/37) counts; a Luhn pass alone is one number in ten
    return len(digits) in (15, 16, 19) and (digits[0] in "45" or digits[:2] in ("62", "34", "37"))


def _date_like(digits: str) -> bool:
    if len(digits) != 8:
        return False
    year, month, day = int(digits[:4]), int(digits[4:6]), int(digits[6:8])
    return 1900 <= year <= 2099 and 1 <= month <= 12 and 1 <= day <= 31


def classify(digits: str, x_end: bool = False, context: str | None = None,
             unit: bool = False, language: str = "zh") -> tuple[str, str] | None:
    """(kind, normalised value) for a run of digits said in `context` (id | card | phone | neg | None),
    or None when it is not personal. unit: the run is followed by a unit or currency (元, dollars)."""
    n = len(digits)
    if n < 7:
        return None
    if _resident_id(digits, x_end):
        return "id", digits + ("X" if x_end else "")
    if context == "neg" or (unit and context is None):
        return None
    if context == "id" and 14 <= n + x_end <= 20:
        return "id", digits + ("X" if x_end else "")
    if x_end and _id_like(digits, x_end):
        return "id", digits + "X"
    if _card(digits, context):
        return "card", digits
    if context in (None, "phone") and (_china_mobile(digits) or (digits.startswith("0") and 10 <= n <= 12)
                                       or n in (10, 11, 12, 13)):
        phone = _phone(digits, language)
        if phone is not None and not (context is None and _date_like(digits)):
            if context is None and not _china_mobile(digits) and digits.startswith(("19", "20")) and n >= 12:
                pass  # 2024… order-like numbers that happen to parse abroad
            else:
                return "phone", phone
    if _id_like(digits, x_end) and context in (None, "id", "card", "phone"):
        return "id", digits
    # a run in a personal context whose checks fail (ASR drops and changes digits): long enough to be one
    if context == "card" and n >= 10:
        return "card", digits
    if context == "id" and n + x_end >= 10:
        return "id", digits + ("X" if x_end else "")
    if context == "phone":
        return "phone", digits
    return None


def _context_kind(before: str, earlier: list[str]) -> str | None:
    """The kind the nearest context word names: in the turn before the number (nearest first), then
    in the earlier turns (the question that asked for it)."""
    for text in [before[-_CONTEXT_CHARS:], *earlier]:
        hits = list(_CONTEXT_RE.finditer(text))
        if hits:
            for hit in reversed(hits):
                word = hit.group(0).lower()
                if word.isascii() and not _word_bounded(text, hit.start(), hit.end()):
                    continue
                return _CONTEXT_KIND[word]
    return None


def _word_bounded(text: str, start: int, end: int) -> bool:
    left = start == 0 or not text[start - 1].isalnum() or not text[start - 1].isascii()
    right = end == len(text) or not text[end].isalnum() or not text[end].isascii()
    return left and right


# --- e-mail addresses --------------------------------------------------------------------------------

_TLD = r"(?:com|net|org|cn|io|co|edu|gov|biz|info|me|hk|uk|de|jp|sg)"
_EN_USER = r"(?:[a-z0-9]+(?:\s*(?:\.|dot|underscore|_|dash|-|hyphen)\s*[a-z0-9]+)*)"
_EN_SPELLED = r"(?:(?:[a-z0-9]\s+){2,}[a-z0-9])"
_EMAIL_WRITTEN = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)+")
_EMAIL_EN = re.compile(
    rf"\b({_EN_SPELLED}|{_EN_USER})\s+(?:at|@)\s+([a-z0-9\-]+(?:\s+[a-z0-9\-]+){{0,3}}?"
    rf"(?:\s*(?:\.|dot)\s*[a-z0-9\-]+)*?)"
    rf"\s*(?:\.|\bdot|点)\s*{_TLD}\b(?:\s*(?:\.|\bdot|点)\s*(?:cn|uk|hk|au|sg|tw)\b)?", re.IGNORECASE)
_EMAIL_ANSWER = re.compile(r"(?:^|\b)(?:it's|it\s+is|e-?mail\s+is|mail\s+is|address\s+is|邮箱是)\s*"
                           r"([^。！!？?]{3,60}?)[\s.。！!,，]*$", re.IGNORECASE)
_ADDRESS_LIKE = re.compile(r"\bat|@|\bdot\b|\bcom\b|艾特|点com", re.IGNORECASE)
_ADDRESS_SOUNDALIKES = load_yaml("spoken_digits.yaml")["en_address_soundalikes"]
# how a reply ends that gives an address, even one ASR garbled past reading ("If we cannot not win.com.")
_ADDRESS_END = re.compile(
    r"(?:\.|\b(?:" + "|".join(["dot", *_ADDRESS_SOUNDALIKES["dot"]]) + r")\s+|点)\s*"
    r"(?:com|net|org|cn|io|co|edu|" + "|".join(_ADDRESS_SOUNDALIKES["com"]) + r")\b[\s.。!！]*$",
    re.IGNORECASE)
REPLY_WORDS = 12  # a reply to 'your e-mail?' this short that ends like an address is taken whole
_EMAIL_GLUED = re.compile(rf"\b([a-z0-9._\-]+?)at([a-z0-9\-]+\.{_TLD})\b", re.IGNORECASE)
_ZH_DIGIT_CLASS = "零〇一二三四五六七八九幺"
_ZH_USER = rf"[A-Za-z0-9_\-{_ZH_DIGIT_CLASS}]+(?:\s*(?:点|\.|下划线|杠)\s*[A-Za-z0-9{_ZH_DIGIT_CLASS}]+)*"
_EMAIL_ZH = re.compile(
    rf"({_ZH_USER})\s*(?:艾特|爱特|@|圈a|圈A)\s*([A-Za-z0-9\-{_ZH_DIGIT_CLASS}]+"
    rf"(?:\s*(?:点|\.)\s*[A-Za-z0-9\-]+)*?)\s*(?:点|\.|dot)\s*{_TLD}(?![A-Za-z])", re.IGNORECASE)
_NOT_USERS = {"us", "me", "him", "her", "them", "it", "look", "visit", "site", "website", "is", "be",
              "here", "there", "you", "we", "i", "www", "home", "online", "web", "page", "go", "to"}


# an address's spoken user part may be several words: "my email is zhang wei at …" takes "zhang wei"
_EMAIL_LEAD = re.compile(r"(?:e-?mail(?:\s+address)?(?:\s+is)?|mail\s+is|address\s+is|it's|it\s+is|"
                         r"邮箱(?:地址)?是?)[\s:：,，]*((?:[A-Za-z0-9]+\s+){1,4})$", re.IGNORECASE)


def _spoken_address(text: str) -> str:
    """A spoken address as typed: 'john dot li at gmail dot com' -> john.li@gmail.com,
    'li na eighty eight at q q dot com' -> lina88@qq.com."""
    words = re.findall(r"[A-Za-z]+|[^A-Za-z]+", text.lower())
    spoken: list[str] = []
    for k, word in enumerate(words):
        if word in _EN_DIGITS and word not in ("o", "oh"):
            spoken.append(_EN_DIGITS[word])
        elif word in _EN_TEENS:
            spoken.append(_EN_TEENS[word])
        elif word in _EN_TENS:
            nxt = words[k + 2] if k + 2 < len(words) and words[k + 1].isspace() else ""
            spoken.append(_EN_TENS[word] + ("" if nxt in _EN_DIGITS and nxt not in ("o", "oh", "zero")
                                            else "0"))
        else:
            spoken.append(word)
    out = "".join(spoken)
    for said, typed in ((r"\s*(?:\bdot\b|点|\.)\s*", "."), (r"\s*(?:\bunderscore\b|下划线|_)\s*", "_"),
                        (r"\s*(?:\bdash\b|\bhyphen\b|杠)\s*", "-"),
                        (r"\s*(?:\bat\b|艾特|爱特|圈a|@)\s*", "@")):
        out = re.sub(said, typed, out)
    out = "".join(_ZH_DIGITS.get(c, c) for c in out)
    return re.sub(r"\s+", "", out)


_EMAIL_CONTEXT = re.compile(r"e-?mail|\bmail\b|address|邮箱|油箱|邮件|电邮", re.IGNORECASE)


def _asks_for_address(earlier: tuple[str, ...]) -> bool:
    """The turn just before asks for an e-mail address."""
    return bool(earlier) and _EMAIL_CONTEXT.search(earlier[-1]) is not None


def _emails(text: str, earlier: tuple[str, ...] = ()) -> list[tuple[int, int, str]]:
    """Addresses in text: written (a@b.com), spoken in Mandarin (…艾特…点com), or spoken in English
    ('… at … dot com'), the last only where the words around ask for or name an e-mail address or the
    address is spelled with dots or underscores (else 'visit us at acme.com' would be one)."""
    found: list[tuple[int, int, str]] = []
    asked = any(_EMAIL_CONTEXT.search(t) for t in (text, *earlier))

    def free(start: int, end: int) -> bool:
        return all(end <= s or start >= e for s, e, _ in found)

    for m in _EMAIL_WRITTEN.finditer(text):
        found.append((m.start(), m.end(), m.group(0).lower()))
    if asked and not found:
        # the answer to 'your e-mail?' that ASR garbled past any pattern ("It's Maria Attack Minotio" for
        # maria at acme dot io): a short reply with something address-like in it is taken whole
        m = _EMAIL_ANSWER.search(text)
        if m and len(m.group(1).split()) <= 6 and _ADDRESS_LIKE.search(m.group(1)):
            found.append((m.start(1), m.end(1), _spoken_address(m.group(1))))
            return found
        if len(text.split()) <= REPLY_WORDS and _ADDRESS_END.search(text) and _asks_for_address(earlier):
            body = text.strip().rstrip(".。!！ ")
            start = text.index(body)
            found.append((start, start + len(body), _spoken_address(body)))
            return found
    if asked:  # ASR glues the spoken 'at' on: 'my mail is nyat163.com'
        for m in _EMAIL_GLUED.finditer(text):
            if free(m.start(), m.end()) and m.group(1).lower() not in _NOT_USERS:
                found.append((m.start(), m.end(), f"{m.group(1)}@{m.group(2)}".lower()))
    for pattern in (_EMAIL_EN, _EMAIL_ZH):
        for m in pattern.finditer(text):
            user = m.group(1).strip().lower()
            if user in _NOT_USERS or (pattern is _EMAIL_ZH and not user):
                continue
            if user.startswith("www") or not free(m.start(), m.end()):
                continue
            spelled = re.search(r"\s(?:dot|underscore)\s|[._]", m.group(1), re.IGNORECASE) is not None or \
                re.fullmatch(_EN_SPELLED, user) is not None
            if pattern is _EMAIL_EN and not asked and not spelled:
                continue
            start = m.start()
            lead = _EMAIL_LEAD.search(text[:start])
            if lead is not None and lead.group(1).strip().lower() not in _NOT_USERS:
                start = lead.start(1)
            found.append((start, m.end(), _spoken_address(text[start:m.end()])))
    return found


# --- the transcript ------------------------------------------------------------------------------------


_LEAD_IN = re.compile(r"^[\s，,、。.]*(?:嗯|呃|然后|后面是|后面|后几位是|后几位|接着|还有|是|"
                      r"and|then|the rest is|after that|um|uh)?[\s，,、：:]*", re.IGNORECASE)
_END_PUNCT = re.compile(r"[\s，,、。.！!？?]*$")


def find(transcript: Transcript) -> list[Found]:
    """Every personal number and address in the transcript, in turn order."""
    turns = transcript.turns
    found: list[Found] = []
    runs_by_turn: list[list[_Run]] = []
    for i, turn in enumerate(turns):
        emails = _emails(turn.text, tuple(turns[j].text for j in range(max(0, i - 2), i)))
        found += [Found(i, s, e, "email", value) for s, e, value in emails]
        runs = [r for r in _runs(i, turn.text)
                if all(r.end <= s or r.start >= e for s, e, _ in emails)]
        runs_by_turn.append(runs)

    def context_of(run: _Run) -> tuple[str | None, bool]:
        text = turns[run.turn].text
        earlier = [turns[run.turn - 1].text] if run.turn > 0 else []  # the question that asked for it
        before = text[:run.start]
        # the run before this one in the turn cuts the context: 'card 6222… phone 138…'
        prev_runs = [r for r in runs_by_turn[run.turn] if r.end <= run.start and len(r.digits) >= 7]
        if prev_runs:
            before, earlier = text[prev_runs[-1].end:run.start], []
        unit = bool(_UNIT_AFTER.match(text[run.end:])) or bool(_UNIT_BEFORE.search(before))
        return _context_kind(before, earlier), unit

    joined: set[tuple[int, int]] = set()
    # a number split across two turns of one speaker: the tail of one turn and the head of the next
    for i, turn in enumerate(turns):
        if not runs_by_turn[i]:
            continue
        tail = runs_by_turn[i][-1]
        if _END_PUNCT.fullmatch(turn.text[tail.end:]) is None:
            continue
        for j in range(i + 1, min(len(turns), i + 3)):
            nxt = turns[j]
            if nxt.speaker != turn.speaker:
                continue
            if nxt.start - turn.end > 10.0 or not runs_by_turn[j]:
                break
            head = runs_by_turn[j][0]
            lead = _LEAD_IN.match(nxt.text)
            if lead is None or lead.end() < head.start:
                break
            context, _ = context_of(tail)
            tail_lang = turn.language or transcript.language
            whole = classify(tail.digits + head.digits, head.x_end, context, unit=bool(
                _UNIT_AFTER.match(nxt.text[head.end:])), language=tail_lang)
            # a piece that is a whole number by its own checks stays on its own
            alone = classify(tail.digits, tail.x_end, None, language=tail_lang) or \
                classify(head.digits, head.x_end, None, language=tail_lang)
            if whole is not None and alone is None:
                kind, value = whole
                found.append(Found(i, tail.start, tail.end, kind, value))
                found.append(Found(j, head.start, head.end, kind, value))
                joined.update({(i, tail.start), (j, head.start)})
            break
    for runs in runs_by_turn:
        chain: list[_Run] = []  # runs not personal on their own, one after the other
        for run in runs:
            if (run.turn, run.start) in joined:
                _chain(chain, turns, context_of, found, transcript.language)
                continue
            context, unit = context_of(run)
            got = classify(run.digits, run.x_end, context, unit,
                           language=turns[run.turn].language or transcript.language)
            if got is not None:
                found.append(Found(run.turn, run.start, run.end, got[0], got[1]))
                _chain(chain, turns, context_of, found, transcript.language)
                continue
            if chain and (run.start - chain[-1].end > 12 or
                          re.search(r"[。？！?!]", turns[run.turn].text[chain[-1].end:run.start])):
                _chain(chain, turns, context_of, found, transcript.language)
            chain.append(run)
        _chain(chain, turns, context_of, found, transcript.language)
    found.sort(key=lambda f: (f.turn, f.start))
    return found


def _chain(chain: list[_Run], turns: list[Turn], context_of, found: list[Found], language: str) -> None:  # noqa: ANN001
    """Short runs close together in a personal context are one number ASR broke up with words
    ('my cell is 415, I made 4, 4, 5, 8'): redacted together when they add up to one. Empties chain."""
    if len(chain) >= 2:
        context, unit = context_of(chain[0])
        if context in ("phone", "card", "id"):
            got = classify("".join(r.digits for r in chain), chain[-1].x_end, context, unit,
                           language=turns[chain[0].turn].language or language)
            if got is not None:
                found.extend(Found(r.turn, r.start, r.end, got[0], got[1]) for r in chain)
    chain.clear()


def _char_times(turn: Turn) -> list[tuple[float, float]]:
    """A time span for each character of the turn text, from the words (Whisper's words concatenate to
    the text, give or take spaces and punctuation); characters no word covers are interpolated."""
    text = turn.text
    times: list[tuple[float, float] | None] = [None] * len(text)
    cursor = 0
    for word in turn.words:
        piece = word.text.strip()
        if not piece:
            continue
        at = text.find(piece, cursor, cursor + len(piece) + 8)
        if at < 0:
            core = piece.strip("，,。.？?！!、：:；;")
            at = text.find(core, cursor, cursor + len(piece) + 8) if core else -1
            piece = core
        if at < 0:
            continue
        span = word.end - word.start
        for k in range(len(piece)):
            times[at + k] = (word.start + span * k / len(piece), word.start + span * (k + 1) / len(piece))
        cursor = at + len(piece)
    # fill the gaps from the neighbours (or spread over the turn when no word matched)
    known = [k for k, t in enumerate(times) if t is not None]
    if not known:
        length = max(1, len(text))
        return [(turn.start + (turn.end - turn.start) * k / length,
                 turn.start + (turn.end - turn.start) * (k + 1) / length) for k in range(len(text))]
    out: list[tuple[float, float]] = []
    for k, t in enumerate(times):
        if t is None:
            prev = max((p for p in known if p < k), default=None)
            nxt = min((p for p in known if p > k), default=None)
            lo = times[prev][1] if prev is not None else turn.start
            hi = times[nxt][0] if nxt is not None else turn.end
            t = (lo, max(lo, hi))
        out.append(t)
    return out


def _placeholder(kind: str, turn: Turn, language: str) -> str:
    lang = turn.language or language
    return PLACEHOLDERS["en" if lang == "en" else "zh"][kind]


def _redact_words(words: list[Word], spans: list[tuple[float, float, str]]) -> list[Word]:
    """Words with every word inside a redacted time span folded into one placeholder word."""
    out: list[Word] = []
    for word in words:
        mid = (word.start + word.end) / 2
        hit = next((s for s in spans if s[0] - 0.01 <= mid <= s[1] + 0.01), None)
        if hit is None:
            out.append(word)
            continue
        lead = " " if word.text.startswith(" ") else ""
        if out and out[-1].text.strip() == hit[2] and out[-1].end >= hit[0] - 0.01:
            out[-1].end = max(out[-1].end, word.end)
        else:
            out.append(Word(start=word.start, end=word.end, text=lead + hit[2], probability=word.probability))
    return out


def redact_transcript(transcript: Transcript) -> list[Found]:
    """Replace every personal number and address in the transcript (in place) by its placeholder and list
    it on its turn (Turn.redactions). Returns what was found (values in memory only)."""
    found = find(transcript)
    by_turn: dict[int, list[Found]] = {}
    for f in found:
        by_turn.setdefault(f.turn, []).append(f)
    for index, items in by_turn.items():
        turn = transcript.turns[index]
        times = _char_times(turn)
        text = turn.text
        spans: list[tuple[float, float, str]] = []
        redactions: list[Redaction] = []
        for f in sorted(items, key=lambda f: f.start):
            start, end = times[f.start][0], times[f.end - 1][1]
            mark = _placeholder(f.kind, turn, transcript.language)
            spans.append((start, end, mark))
            redactions.append(Redaction(kind=f.kind, start=round(start, 2), end=round(end, 2),
                                        placeholder=mark, value=f.value))
        for f, red in sorted(zip(items, redactions, strict=True), key=lambda p: p[0].start, reverse=True):
            text = text[:f.start] + red.placeholder + text[f.end:]
        turn.text = text
        turn.words = _redact_words(turn.words, spans)
        turn.redactions = [*turn.redactions, *redactions]
    return found


def redact_text(text: str, language: str | None = None) -> str:
    """One piece of text with its personal numbers and addresses replaced (no times): for free text that
    never went through ASR (a title, a comment). language: zh | en, else zh when it holds a CJK character."""
    if language is None:
        language = "zh" if re.search(r"[\u3400-\u9fff]", text) else "en"
    transcript = Transcript(duration=0.0, language=language, layout="mono",
                            turns=[Turn(0.0, 0.0, "S0", "customer", text, language=language)])
    redact_transcript(transcript)
    return transcript.turns[0].text
