"""Write the held-out redaction scripts (bench/redaction/heldout/scripts/*.json): new phrasings of personal
numbers and addresses, and new look-alikes, that the redaction rules were not written on. They were written
before the failures of the tuning set were looked at, and are scored once, not tuned on. Deterministic
(seeded; another seed from the tuning set's). Render with synthcall as the tuning set (README.md, with
`heldout/` in the paths).

    .venv/bin/python -m bench.redaction.make_heldout
"""

from __future__ import annotations

import json
import random
from pathlib import Path

from bench.redaction.make_scripts import (
    EN,
    card,
    en_digits,
    landline,
    mobile,
    pack,
    resident_id,
    us_phone,
    zh_digits,
)

OUT = Path(__file__).resolve().parent / "heldout" / "scripts"


def en_spoken(digits: str, groups: tuple[int, ...] = ()) -> str:
    """Digits as English speakers often read them: "oh" for zero, "double" for a repeated digit in a group."""
    parts, at = [], 0
    for size in (*groups, len(digits)):
        if at >= len(digits):
            break
        parts.append(digits[at:at + size])
        at += size
    said = []
    for part in parts:
        words, k = [], 0
        while k < len(part):
            word = "oh" if part[k] == "0" else EN[part[k]]
            pair = k + 1 < len(part) and part[k + 1] == part[k]
            if pair and (k + 2 >= len(part) or part[k + 2] != part[k]):
                words.append(f"double {word}")
                k += 2
            else:
                words.append(word)
                k += 1
        said.append(" ".join(words))
    return ", ".join(said)


def _pair(prompt: str, said: str, kind: str, value: str, **extra: object) -> list[dict]:
    return [{"role": "rep", "text": prompt},
            {"role": "customer", "text": said, "truth": {"kind": kind, "value": value}, **extra}]


def _split(prompt: str, first: str, between: str, second: str, kind: str, value: str) -> list[dict]:
    truth = {"kind": kind, "value": value}
    return [{"role": "rep", "text": prompt},
            {"role": "customer", "text": first, "truth": truth},
            {"role": "rep", "text": between, "pause": 0.4},
            {"role": "customer", "text": second, "truth": truth, "pause": 0.4}]


def zh_personal(rng: random.Random) -> list[list[dict]]:
    items: list[list[dict]] = []
    forms = [
        ("后面有问题我打给谁？", "打给我就行，我电话{m}。"),
        ("加个微信吧？", "微信就是手机号，{m}，你搜一下。"),
        ("您留个号码，回头安排工程师联系您。", "号码是{m}，白天都能打通。"),
        ("短信发到哪个号码？", "发到{m}这个号上。"),
        ("您看合同寄出之后怎么通知您？", "你给我打电话，{m}，或者发短信也行。"),
        ("请问您是机主本人吗？手机号码多少？", "是我本人，手机号码{m}。"),
        ("对接人的联系方式能给一下吗？", "找我们采购小刘，他手机是{m}。"),
    ]
    for k, (prompt, said) in enumerate(forms):
        m = mobile(rng)
        spoken = zh_digits(m, yao=k % 2 == 0, groups=(3, 4) if k % 3 != 1 else ())
        items.append(_pair(prompt, said.format(m=spoken), "phone", m))
    for k in range(3):
        land = landline(rng)
        cut = 4 if land.startswith("07") else 3
        said = [f"区号{zh_digits(land[:cut])}，号码是{zh_digits(land[cut:], yao=True)}。",
                f"公司前台的电话{zh_digits(land[:cut], yao=True)}，"
                f"{zh_digits(land[cut:], groups=(4,))}，转我就行。",
                f"我们财务室电话是{zh_digits(land, yao=True)}。"][k]
        items.append(_pair("有固定电话吗？", said, "phone", land))
    id_forms = [
        ("实名认证需要您的证件号码。", "证件号码{v}。"),
        ("签合同要法人的身份证号。", "法人身份证号码我念一下，{v}。"),
        ("保险这边要登记被保人的身份证。", "身份证是{v}，最后一位没错。"),
        ("麻烦核对一下身份信息。", "我的身份证号{v}。"),
        ("发票抬头要个人身份证号吗？", "要的话就写{v}。"),
    ]
    for k, (prompt, said) in enumerate(id_forms):
        ident = resident_id(rng)
        items.append(_pair(prompt, said.format(v=zh_digits(ident, yao=k % 2 == 0,
                                                           groups=(6, 8) if k % 2 else ())), "id", ident))
    card_forms = [
        ("款项退到哪里？", "退到原来那张卡，账号{v}，建设银行的。"),
        ("扣款用哪张卡？", "用这张，{v}，招商银行信用卡。"),
        ("对公账户是多少？", "我们的银行账户是{v}。"),
        ("佣金打到哪？", "打我工资卡上，卡号{v}。"),
    ]
    for k, (prompt, said) in enumerate(card_forms):
        number = card(rng, prefix=["6227", "6225", "6216", "6212"][k], length=19 if k % 2 == 0 else 16)
        grouped = zh_digits(number, yao=k == 3, groups=(4, 4, 4, 4) if k < 2 else ())
        items.append(_pair(prompt, said.format(v=grouped), "card", number))
    m = mobile(rng)
    items.append(_split("方便留个电话吗？", f"可以，{zh_digits(m[:3])}，{zh_digits(m[3:7])}",
                        "好的，然后呢？", f"然后是{zh_digits(m[7:])}。", "phone", m))
    ident = resident_id(rng)
    items.append(_split("身份证号码报一下。", f"身份证{zh_digits(ident[:9])}", "嗯。",
                        f"{zh_digits(ident[9:])}。", "id", ident))
    number = card(rng, prefix="6222", length=19)
    items.append(_split("卡号是多少？", f"卡号{zh_digits(number[:8], groups=(4,))}", "嗯，继续。",
                        f"{zh_digits(number[8:], groups=(4, 4))}。", "card", number))
    for user, domain, tld, address in (("chen jie", "one two six", "com", "chenjie@126.com"),
                                       ("liu yang twenty", "sina", "com", "liuyang20@sina.com"),
                                       ("sales dot huang", "foxmail", "com", "sales.huang@foxmail.com")):
        items.append(_pair("邮箱发您一份资料，邮箱是？", f"Send it to {user} at {domain} dot {tld}.", "email",
                           address, lang="en"))
    return items


def zh_lookalikes(rng: random.Random) -> list[list[dict]]:
    texts = [
        ("报价单上写的是多少？", "报价单上是三万六千八百元，含税。"),
        ("这期准备买多少套？", "这期先买两百套，下半年再买三百套。"),
        ("截止日期是哪天？", "截止到二零二五年六月三十号。"),
        ("报价单号是多少？", f"报价单号{zh_digits('2025' + str(rng.randint(100000, 999999)))}。"),
        ("电话会议什么时候开？", "电话会议定在周三下午两点，一个小时。"),
        ("你们公司哪年成立的？", "我们是一九九八年成立的，到现在二十七年了。"),
        ("手机壳订了多少？", "手机壳这批一共一万二千个，分两批发。"),
        ("会员卡发了多少张？", "会员卡已经发了三千八百张。"),
        ("身份证复印件要几份？", "身份证复印件要两份，原件不用带。"),
        ("年费多少？", "年费一万九千八，两年的话三万六。"),
        ("批次号是多少？", f"批次号是{zh_digits(str(rng.randint(1000000000, 9999999999)))}。"),
        ("我们在哪个房间？", "在十三楼，一三零八房间。"),
        ("增长了多少？", "同比增长百分之十三点八，环比增长百分之五。"),
        ("服务器要什么配置？", "要六十四核，五百一十二G内存，两台。"),
        ("客服热线接通率多少？", "接通率百分之九十六点五，平均等待十八秒。"),
        ("银行那边的审批要多久？", "银行审批一般十五个工作日，最快七天。"),
        ("卡券一共多少张？", "卡券一共五千张，每张面值一百元。"),
        ("设备序列号是多少？", f"序列号{zh_digits(str(rng.randint(10 ** 13, 10 ** 14 - 1)))}。"),
        ("合同金额多少？", "合同金额是一百二十八万六千元，分四期付。"),
        ("一共多少个门店账号？", "一共六百三十八个门店账号。"),
        ("什么时候交付？", "二零二六年一月十二号交付，二月二十八号前验收。"),
        ("工号是多少？", f"我工号是{zh_digits(str(rng.randint(100000, 999999)))}。"),
    ]
    return [[{"role": "rep", "text": q}, {"role": "customer", "text": a, "truth": None}] for q, a in texts]


def en_personal(rng: random.Random) -> list[list[dict]]:
    items: list[list[dict]] = []
    forms = [
        ("How can I reach you after the demo?", "You can reach me at {p}."),
        ("What's your direct line?", "My direct line is area code {area}, then {rest}."),
        ("Can I text you the link?", "Sure, text me at {p}."),
        ("Is there a good number for you?", "Yeah, it's {p}, that's my cell."),
        ("Who should we call about billing?", "Call our office manager on {p}."),
        ("What number should I put on the account?", "Put down {p}, please."),
        ("Can I have your phone number for the shipment?", "The phone number is {p}."),
    ]
    for k, (prompt, said) in enumerate(forms):
        p = us_phone(rng)
        spoken = en_spoken(p, (3, 3)) if k % 2 == 0 else en_digits(p, (3, 3))
        items.append(_pair(prompt, said.format(p=spoken, area=en_digits(p[:3]), rest=en_spoken(p[3:], (3,))),
                           "phone", p))
    m = mobile(rng)
    items.append(_pair("Do you have a Chinese mobile?",
                       f"Yes, one {en_digits(m[1:3])}, {en_spoken(m[3:], (4,))}.", "phone", m))
    card_forms = (("How would you like to pay?", "Visa, the number is {v}."),
                  ("Which card is on file?", "Use my Mastercard, {v}."),
                  ("Card number for the deposit?", "Okay, it's {v}, expiry next May."))
    for k, (prompt, said) in enumerate(card_forms):
        number = card(rng, prefix=["4485", "5312", "4024"][k], length=16)
        spoken = en_spoken(number, (4, 4, 4)) if k == 1 else en_digits(number, (4, 4, 4))
        items.append(_pair(prompt, said.format(v=spoken), "card", number))
    acct = "".join(rng.choice("0123456789") for _ in range(10))
    items.append(_pair("Which account should the rebate go to?", f"Our bank account is {en_digits(acct)}.",
                       "card", acct))
    for user, domain, tld, address in (("tom dot baker", "outlook", "com", "tom.baker@outlook.com"),
                                       ("k wong", "fastmail", "com", "kwong@fastmail.com"),
                                       ("priya", "contoso", "io", "priya@contoso.io"),
                                       ("j underscore ortiz", "gmail", "com", "j_ortiz@gmail.com"),
                                       ("emma twenty one", "hotmail", "com", "emma21@hotmail.com")):
        items.append(_pair("Where should I send the contract?", f"Send it to {user} at {domain} dot {tld}.",
                           "email", address))
    p = us_phone(rng)
    items.append(_split("And the best number?", f"Sure, {en_digits(p[:3])}", "Mm-hmm.",
                        f"{en_digits(p[3:6])}, {en_digits(p[6:])}.", "phone", p))
    number = card(rng, prefix="4111", length=16)
    items.append(_split("Go ahead with the card.", f"It's {en_digits(number[:8], (4,))}", "Got it.",
                        f"{en_digits(number[8:], (4,))}.", "card", number))
    return items


def en_lookalikes(rng: random.Random) -> list[list[dict]]:
    texts = [
        ("How many seats do you need?", "We'd need about three hundred and twenty seats."),
        ("What did they quote you?", "They quoted forty seven thousand five hundred a year."),
        ("Do you have a PO?", f"The PO number is {en_digits(str(rng.randint(10000000, 99999999)))}."),
        ("What's the ticket?", f"Ticket number {en_digits(str(rng.randint(1000000000, 9999999999)))}."),
        ("When should I call you back?", "Call me back on Tuesday at three."),
        ("How big is your phone system?", "Our phone system has two hundred extensions."),
        ("How many card readers?", "We ordered fifteen hundred card readers."),
        ("How many users on the account?", "The account has twelve users today."),
        ("Which version are you on?", "We're on version four point two point one."),
        ("When's the meeting?", "The meeting is at two thirty on the fourteenth."),
        ("What's the SKU?", f"The SKU is {en_digits(str(rng.randint(100000000, 999999999)))}."),
        ("How fast are you growing?", "We grew eighteen percent year over year."),
        ("What's the serial?", f"Serial number {en_digits(str(rng.randint(10 ** 11, 10 ** 12 - 1)))}."),
        ("When does the trial end?", "The trial ends on April thirtieth, twenty twenty six."),
        ("How many calls a day?", "Around nineteen hundred calls a day, peaking at twenty five hundred."),
        ("What's the list price?", "List price is eighty nine dollars per user per month."),
        ("How many locations?", "Sixty eight locations in eleven states."),
        ("What's the shipment weight?", "About two thousand four hundred pounds."),
        ("Which build failed?", f"Build {en_digits(str(rng.randint(100000, 999999)))} failed last night."),
        ("What was last quarter's pipeline?",
         "Pipeline was six point three million, up from five point one."),
    ]
    return [[{"role": "rep", "text": q}, {"role": "customer", "text": a, "truth": None}] for q, a in texts]


def main() -> None:
    rng = random.Random(2026)
    zh = zh_personal(rng) + zh_lookalikes(rng)
    en = en_personal(rng) + en_lookalikes(rng)
    scripts = pack(zh, 11, "heldout-zh", "zh", rng) + pack(en, 10, "heldout-en", "en", rng)
    OUT.mkdir(parents=True, exist_ok=True)
    for old in OUT.glob("*.json"):
        old.unlink()
    for script in scripts:
        (OUT / f"{script['id']}.json").write_text(json.dumps(script, ensure_ascii=False, indent=1) + "\n")
    personal = len({t["utterance"] for s in scripts for t in s["turns"] if t.get("truth")})
    print(f"{len(scripts)} scripts, {len(zh) + len(en)} utterances ({personal} with a personal number)")


if __name__ == "__main__":
    main()
