"""Write the redaction evaluation scripts (bench/redaction/scripts/*.json): utterances with personal numbers
and addresses, and look-alikes without any (prices, dates, order numbers, quantities), packed several to a
call. Deterministic (seeded). Render with synthcall (see bench/redaction/README.md).

    .venv/bin/python -m bench.redaction.make_scripts
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from stdnum import luhn
from stdnum.cn import ric

HERE = Path(__file__).resolve().parent
ZH = dict(zip("0123456789", "零一二三四五六七八九", strict=True))
EN = dict(zip("0123456789", ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"],
              strict=True))


def zh_digits(digits: str, yao: bool = False, groups: tuple[int, ...] = ()) -> str:
    out = "".join(("幺" if yao and d == "1" else ZH[d]) if d.isdigit() else "叉" for d in digits)
    return _group(out, groups, "，")


def en_digits(digits: str, groups: tuple[int, ...] = ()) -> str:
    words = [EN[d] for d in digits]
    if not groups:
        return " ".join(words)
    parts, at = [], 0
    for size in groups:
        parts.append(" ".join(words[at:at + size]))
        at += size
    if at < len(words):
        parts.append(" ".join(words[at:]))
    return ", ".join(parts)


def _group(text: str, groups: tuple[int, ...], sep: str) -> str:
    if not groups:
        return text
    parts, at = [], 0
    for size in groups:
        parts.append(text[at:at + size])
        at += size
    if at < len(text):
        parts.append(text[at:])
    return sep.join(parts)


def mobile(rng: random.Random) -> str:
    return rng.choice(["138", "139", "137", "135", "186", "158", "189", "177", "150", "133"]) + \
        "".join(rng.choice("0123456789") for _ in range(8))


def landline(rng: random.Random) -> str:
    area, length = rng.choice([("010", 8), ("021", 8), ("0755", 8), ("0571", 8), ("020", 8)])
    return area + rng.choice("2345678") + "".join(rng.choice("0123456789") for _ in range(length - 1))


def resident_id(rng: random.Random) -> str:
    area = rng.choice(["110105", "310104", "440305", "330106", "510107", "320102"])
    birth = f"{rng.randint(1960, 2002)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    body = area + birth + f"{rng.randint(0, 999):03d}"
    return body + ric.calc_check_digit(body)


def card(rng: random.Random, prefix: str = "6222", length: int = 19) -> str:
    body = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix) - 1))
    return body + luhn.calc_check_digit(body)


def us_phone(rng: random.Random) -> str:
    area = rng.choice(["415", "650", "212", "617", "312", "206"])
    exchange = rng.choice("23456789") + "".join(rng.choice("0123456789") for _ in range(2))
    return area + exchange + "".join(rng.choice("0123456789") for _ in range(4))


def zh_personal(rng: random.Random) -> list[list[dict]]:
    """Each item: the turns of one utterance (rep prompt + customer), the customer turns carry the truth."""
    items: list[list[dict]] = []

    def pair(prompt: str, said: str, kind: str, value: str, **extra: object) -> list[dict]:
        return [{"role": "rep", "text": prompt},
                {"role": "customer", "text": said, "truth": {"kind": kind, "value": value}, **extra}]

    for k in range(7):
        m = mobile(rng)
        forms = [
            ("方便留个手机号吗？", f"可以，我的手机号是{zh_digits(m)}。"),
            ("您的联系电话是多少？", f"你记一下，{zh_digits(m, yao=True, groups=(3, 4))}。"),
            ("怎么联系您比较方便？", f"打我手机吧，{zh_digits(m, groups=(3, 4))}。"),
            ("麻烦报一下您的手机号码。", f"{zh_digits(m, yao=True)}，这个是我微信同号。"),
        ]
        prompt, said = forms[k % len(forms)]
        items.append(pair(prompt, said, "phone", m))
    for _ in range(3):
        land = landline(rng)
        cut = 4 if land.startswith("07") else 3
        items.append(pair("您办公室电话是多少？",
                          f"座机是{zh_digits(land[:cut], yao=True)}，{zh_digits(land[cut:], groups=(4,))}。",
                          "phone", land))
    for k in range(6):
        ident = resident_id(rng)
        said = f"身份证号是{zh_digits(ident, yao=k % 2 == 1, groups=(6, 8) if k % 3 == 0 else ())}。"
        items.append(pair("开户需要登记一下您的身份证号码。", said, "id", ident))
    for k in range(5):
        number = card(rng, prefix=["6222", "6217", "6228", "6214", "6225"][k], length=19 if k < 3 else 16)
        said = f"打到我的银行卡，卡号是{zh_digits(number, groups=(4, 4, 4, 4))}。"
        items.append(pair("退款打到哪张卡上？", said, "card", number))
    for _ in range(3):  # a mobile split across two turns of the customer
        m = mobile(rng)
        items.append([
            {"role": "rep", "text": "您的手机号是？"},
            {"role": "customer", "text": f"我手机是{zh_digits(m[:7])}",
             "truth": {"kind": "phone", "value": m}},
            {"role": "rep", "text": "嗯，您说。", "pause": 0.4},
            {"role": "customer", "text": f"{zh_digits(m[7:])}。", "truth": {"kind": "phone", "value": m},
             "pause": 0.4},
        ])
    for user, domain, address in (("zhang wei", "one six three", "zhangwei@163.com"),
                                  ("li na eighty eight", "q q", "lina88@qq.com"),
                                  ("wang dot lei", "outlook", "wang.lei@outlook.com")):
        items.append(pair("方便留个邮箱吗？我把方案发过去。", f"My email is {user} at {domain} dot com.",
                          "email", address, lang="en"))
    return items


def zh_lookalikes(rng: random.Random) -> list[list[dict]]:
    texts = [
        ("一共多少钱？", "一共是十二万八千元。"),
        ("报价多少？", "报价是一万三千八百元一套。"),
        ("订单号多少？", f"订单号是{zh_digits('2024101500' + str(rng.randint(1000, 9999)))}。"),
        ("打算采购多少台？", "我们打算采购一百五十台，分三批到货。"),
        ("合同什么时候签？", "合同二零二四年三月十五号签。"),
        ("预算有多少？", "总价一百三十八万，预算是一百五十万。"),
        ("发票号码是多少？", f"发票号码是{zh_digits('13800' + str(rng.randint(100000, 999999)))}。"),
        ("快递单号是多少？", f"快递单号是{zh_digits('7751' + str(rng.randint(10000000, 99999999)))}。"),
        ("你们有多少家门店？", "我们有一千三百八十家门店。"),
        ("客户数量大概多少？", "客户数量大概在一万二千到一万五千之间。"),
        ("去年营收多少？", "去年营收三千八百万。"),
        ("什么时候付款？", "二零二三年十二月三十一号之前付款。"),
        ("折扣能给多少？", "折扣是八五折，首付百分之三十。"),
        ("工单编号是多少？", f"工单编号{zh_digits(str(rng.randint(10000000, 99999999)))}。"),
        ("会议在哪？", "下午三点半，在十二楼一二零八会议室。"),
        ("产品编号是多少？", f"产品编号{zh_digits(card(rng, '6222', 16))}。"),
        ("单价多少？", "单价一百三十八元，买一千个。"),
        ("一年的费用是多少？", "一年是两万九千九百元，三年打八折。"),
        ("合同编号多少？", f"合同编号是{zh_digits('2024' + str(rng.randint(10000000, 99999999)))}。"),
        ("库存有多少？", "库存还有一万三千八百一十二件。"),
        ("什么时候上线？", "二零二五年一月八号上线，一月十五号验收。"),
        ("需要多少个账号？", "先开一百二十个账号，明年再加八十个。"),
        ("物流单号是多少？", f"物流单号{zh_digits(str(rng.randint(100000000000, 999999999999)))}。"),
        ("总共多少钱？", "总共是一百八十六万五千四百元。"),
    ]
    return [[{"role": "rep", "text": q}, {"role": "customer", "text": a, "truth": None}] for q, a in texts]


def en_personal(rng: random.Random) -> list[list[dict]]:
    items: list[list[dict]] = []

    def pair(prompt: str, said: str, kind: str, value: str) -> list[dict]:
        return [{"role": "rep", "text": prompt},
                {"role": "customer", "text": said, "truth": {"kind": kind, "value": value}}]

    for k in range(6):
        p = us_phone(rng)
        forms = [
            ("What's the best number to reach you?", f"My cell is {en_digits(p, (3, 3))}."),
            ("Can I get a phone number?", f"Sure, it's {en_digits(p, (3, 3))}."),
            ("How do I reach you directly?", f"Call me on {en_digits(p)}."),
        ]
        prompt, said = forms[k % len(forms)]
        items.append(pair(prompt, said, "phone", p))
    for k in range(2):
        m = mobile(rng)
        items.append(pair("Do you have a mobile number in China?",
                          f"Yes, my mobile there is {en_digits(m, (3, 4))}." if k else
                          f"It's plus eight six, {en_digits(m, (3, 4))}.", "phone", m))
    for k, (user, domain) in enumerate((("john dot smith", "gmail"), ("maria", "acme"),
                                        ("d chen", "northwind"), ("sarah underscore lee", "yahoo"))):
        tld = "com" if k != 1 else "io"
        address = user.replace(" dot ", ".").replace(" underscore ", "_").replace(" ", "")
        address += "@" + domain + "." + tld
        items.append(pair("And your email address?", f"It's {user} at {domain} dot {tld}.", "email", address))
    for k in range(3):
        number = card(rng, prefix=["4532", "5425", "4916"][k], length=16)
        items.append(pair("Which card should we charge?",
                          f"The card number is {en_digits(number, (4, 4, 4))}.", "card", number))
    acct = "".join(rng.choice("0123456789") for _ in range(12))
    items.append(pair("Where should the refund go?", f"My account number is {en_digits(acct, (4, 4))}.",
                      "card", acct))
    p = us_phone(rng)
    items.append([
        {"role": "rep", "text": "What's your number?"},
        {"role": "customer", "text": f"My number is {en_digits(p[:6], (3,))}",
         "truth": {"kind": "phone", "value": p}},
        {"role": "rep", "text": "Okay.", "pause": 0.4},
        {"role": "customer", "text": f"{en_digits(p[6:])}.", "truth": {"kind": "phone", "value": p},
         "pause": 0.4},
    ])
    return items


def en_lookalikes(rng: random.Random) -> list[list[dict]]:
    texts = [
        ("What's the total?", "The total comes to one hundred twenty eight thousand dollars."),
        ("How many licenses?", "We need four hundred and fifty licenses."),
        ("Which order is it?", f"The order number is {en_digits(str(rng.randint(10000000, 99999999)))}."),
        ("When do we meet?", "Let's meet on March fifteenth, twenty twenty five."),
        ("Which invoice?", f"Our invoice number is {en_digits(str(rng.randint(1000000000, 9999999999)))}."),
        ("What does it cost?", "The price is twelve ninety nine per seat per year."),
        ("How big is the team?", "We have about twelve hundred employees across fifteen offices."),
        ("Where can I read more?", "Visit us at northwind dot com for the details."),
        ("What's the budget?", "Our budget this year is two point five million."),
        ("How long is the contract?", "The contract runs from twenty twenty four to twenty twenty seven."),
        ("Do you have a reference?", f"The reference number is {en_digits(us_phone(rng))}."),
        ("What's the case?", f"Quote case number {en_digits(str(rng.randint(10000000, 99999999)))}."),
        ("How many units?", "We shipped thirteen thousand eight hundred units last quarter."),
        ("What's the discount?", "Fifteen percent off if you sign by the thirtieth."),
        ("When is renewal?", "Renewal is on the first of June, twenty twenty six."),
        ("How many seats now?", "Two hundred and thirty seats, growing to three hundred."),
        ("What's the tracking?",
         f"The tracking number is {en_digits(str(rng.randint(100000000000, 999999999999)))}."),
        ("Revenue last year?", "About forty three million dollars in revenue."),
    ]
    return [[{"role": "rep", "text": q}, {"role": "customer", "text": a, "truth": None}] for q, a in texts]


def pack(items: list[list[dict]], per_call: int, prefix: str, language: str,
         rng: random.Random) -> list[dict]:
    rng.shuffle(items)
    scripts = []
    for n, first in enumerate(range(0, len(items), per_call)):
        turns: list[dict] = []
        for u, utterance in enumerate(items[first:first + per_call]):
            for turn in utterance:
                turns.append({**turn, "utterance": f"{prefix}-{n + 1:02d}-{u + 1:02d}"})
        scripts.append({"id": f"{prefix}-{n + 1:02d}", "language": language, "turns": turns})
    return scripts


def main() -> None:
    rng = random.Random(17)
    zh = zh_personal(rng) + zh_lookalikes(rng)
    en = en_personal(rng) + en_lookalikes(rng)
    scripts = pack(zh, 11, "redact-zh", "zh", rng) + pack(en, 9, "redact-en", "en", rng)
    out = HERE / "scripts"
    out.mkdir(exist_ok=True)
    for old in out.glob("*.json"):
        old.unlink()
    for script in scripts:
        (out / f"{script['id']}.json").write_text(json.dumps(script, ensure_ascii=False, indent=1) + "\n")
    personal = sum(1 for s in scripts for t in s["turns"] if t.get("truth"))
    print(f"{len(scripts)} scripts, {len(zh) + len(en)} utterances ({personal} customer turns with truth)")


if __name__ == "__main__":
    main()
