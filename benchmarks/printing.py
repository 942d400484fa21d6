"""Printing speed: ESC/POS ticket encoding and certificate PDF rendering.

Ticket: median time to turn a ticket dict into ESC/POS bytes through the TOML
layout (80 mm, bilingual, QR), against the same content sent through
python-escpos's own text path (``Dummy`` printer, ``set()``/``text()``/native
QR) as the baseline.  Goal: <= 2 ms.  The bytes are also checked: Chinese mode
(FS &) before the first GB18030 byte, and the simulator's interpreter reads the
text back unchanged (the baseline's bytes are checked the same way and shown).

Certificate: median time to render the proof of no property (signed QR,
embedded CJK font) with ``printers.documents.render_no_property``, against a
one-page reportlab PDF with the same font and one line of text as the baseline.
Goal: <= 50 ms.  Skipped with a note when printers.documents is not installed.

    python benchmarks/printing.py [--runs 200]

Exit status 1 only when the Chinese-mode bytes are wrong; timings are figures.
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from printers.escpos.layouts import render_ticket  # noqa: E402
from printers.escpos.render import render_bytes  # noqa: E402

TICKET = {"hall": "市民中心24小时自助服务厅", "hall_en": "Citizen Center 24h Self-Service Hall",
          "service": {"zh": "社保卡补办", "en": "Social Security Card Replacement"}, "number": "A012",
          "waiting": 12, "time": "2024-05-06T09:31", "follow_url": "https://queue.example.gov.cn/t/A012"}
EXPECTED = ["市民中心24小时自助服务厅", "社保卡补办", "A012", "前面还有 12 人等候", "请留意屏幕和语音叫号"]


def median_ms(fn, runs: int) -> float:
    fn()  # warm caches (catalog, templates, fonts)
    samples = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def baseline_ticket() -> bytes:
    """The same ticket written the way python-escpos's README suggests."""
    from escpos.printer import Dummy

    p = Dummy()
    p.set(align="center", bold=True, double_height=True)
    p.textln(TICKET["hall"])
    p.set(align="center", normal_textsize=True)
    p.textln(TICKET["hall_en"])
    p.textln("=" * 48)
    p.set(align="center", bold=True)
    p.textln("排队取号凭条 Queue Ticket")
    p.set(align="center", bold=True, double_width=True, double_height=True)
    p.textln(TICKET["service"]["zh"])
    p.set(align="center", normal_textsize=True)
    p.textln(TICKET["service"]["en"])
    p.set(align="center", bold=True, custom_size=True, width=6, height=6)
    p.textln(TICKET["number"])
    p.set(align="center", normal_textsize=True)
    p.textln("您的号码 Your number")
    p.set(align="center", bold=True, double_width=True, double_height=True)
    p.textln(f"前面还有 {TICKET['waiting']} 人等候")
    p.set(align="center", normal_textsize=True)
    p.textln(f"{TICKET['waiting']} people ahead of you")
    p.textln("-" * 48)
    p.set(align="left")
    p.textln("取号时间 Issued                 2024-05-06 09:31")
    p.qr(TICKET["follow_url"], size=6, native=True)
    p.set(align="center")
    p.textln("微信扫码查看排队进度")
    p.textln("Scan to follow the queue")
    p.textln("-" * 48)
    p.set(align="left")
    p.textln("请留意屏幕和语音叫号，过号请重新取号")
    p.textln("Watch the screen for your number. If missed, take a new ticket.")
    p.cut()
    return p.output


def chinese_mode_ok(data: bytes) -> tuple[bool, str]:
    first_high = next((i for i, b in enumerate(data) if b >= 0x80), None)
    fs_on = data.find(b"\x1c&")
    if first_high is None:
        return False, "no Chinese bytes"
    if fs_on < 0 or fs_on > first_high:
        return False, "GB18030 bytes sent without FS & (printer in single-byte mode prints garbage)"
    if data.find(b"\x1c.", fs_on, first_high) >= 0:
        return False, "Chinese mode switched off before the text"
    [page] = render_bytes(data, 80)
    missing = [e for e in EXPECTED if e not in page.text]
    if missing:
        return False, f"printed text lacks {missing}"
    return True, "FS & before GB18030 text; text reads back unchanged"


def certificate(runs: int) -> None:
    try:
        from printers.documents import Signer, render_no_property
        from printers.documents.demo import no_property
        from printers.documents.fonts import FONT, register_fonts
    except ImportError as exc:
        print(f"certificate render: skipped (printers.documents not available: {exc})")
        return
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    signer = Signer.generate()
    data = no_property()
    t0 = time.perf_counter()
    pdf = render_no_property(data, signer)
    cold = (time.perf_counter() - t0) * 1000
    register_fonts()

    def plain_page() -> bytes:
        buf = io.BytesIO()
        c = canvas.Canvas(buf, pagesize=A4)
        c.setFont(FONT, 16)
        c.drawString(72, 760, "不动产登记信息查询结果")
        c.showPage()
        c.save()
        return buf.getvalue()

    from printers.documents import Trust, verify_pdf

    base = median_ms(plain_page, runs)
    ours = median_ms(lambda: render_no_property(data, signer), runs)
    unsigned = signer.sign_pdf
    signer.sign_pdf = lambda pdf, info=None: pdf  # the same document without its PAdES signature
    bare = median_ms(lambda: render_no_property(data, signer), runs)
    signer.sign_pdf = unsigned
    trust = Trust([signer.ca_cert])
    check = median_ms(lambda: verify_pdf(pdf, trust), runs)
    print(f"certificate baseline (one-line reportlab page, same font): {base:8.2f} ms")
    print(f"certificate no-property proof (signed, {len(pdf) // 1024} KiB):    {ours:8.2f} ms"
          f"  ratio {ours / base:5.2f}  goal <= 50 ms: {'met' if ours <= 50 else 'MISSED'}"
          f"  (first render incl. font load {cold:.0f} ms)")
    print(f"  of which the PAdES signature (pyHanko):               {ours - bare:8.2f} ms")
    print(f"certificate verify (byte check, CMS, pyHanko, QR):        {check:8.2f} ms")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=200)
    args = ap.parse_args()

    ours_bytes = render_ticket(TICKET, 80)
    base_bytes = baseline_ticket()
    ok, why = chinese_mode_ok(ours_bytes)
    base_ok, base_why = chinese_mode_ok(base_bytes)
    base = median_ms(baseline_ticket, args.runs)
    ours = median_ms(lambda: render_ticket(TICKET, 80), args.runs)
    print(f"ticket baseline (python-escpos text path, {len(base_bytes)} B): {base:7.3f} ms"
          f"  Chinese mode: {'ok' if base_ok else 'WRONG'} ({base_why})")
    print(f"ticket layout + encoder ({len(ours_bytes)} B):              {ours:7.3f} ms"
          f"  ratio {ours / base:5.2f}  goal <= 2 ms: {'met' if ours <= 2 else 'MISSED'}"
          f"  Chinese mode: {'ok' if ok else 'WRONG'} ({why})")
    certificate(max(10, args.runs // 10))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
