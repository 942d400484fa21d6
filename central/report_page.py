"""The availability report as one self-contained HTML page (no scripts, no
external assets): bilingual headings from the string catalog, colour-coded
availability, a table on a desktop and stacked cards on a phone."""

from __future__ import annotations

import datetime as dt
from html import escape

from kiosk.core.i18n import t

GOOD, WARN = 0.98, 0.90          # availability colour thresholds
DEVICE_CLASS = {"online": "good", "deviceBusy": "warn"}
STATE_CLASS = {"reporting": "good", "stale": "bad", "never": "bad"}
NOW_CLASS = {"available": "good", "unavailable": "bad", "unknown": "none", "not_offered": "none"}

CSS = """
:root{--good:#17803d;--warn:#b45309;--bad:#c0262d;--none:#6b7280;--bg:#f3f5f8;--ink:#1a202c;--muted:#52606d}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);line-height:1.45;
 font-family:"WenQuanYi Micro Hei","Noto Sans CJK SC","PingFang SC","Microsoft YaHei",system-ui,sans-serif}
header{background:#1d3557;color:#fff;padding:16px 20px}
header h1{margin:0 0 4px;font-size:1.45rem}
.en{font-weight:400;opacity:.8;font-size:.85em}
header p{margin:2px 0;font-size:.85rem;opacity:.9}
main{max-width:1240px;margin:0 auto;padding:8px 12px 24px}
section{background:#fff;border-radius:10px;box-shadow:0 1px 3px rgba(0,0,0,.12);margin:14px 0;padding:14px 16px}
h2{margin:0 0 8px;font-size:1.25rem;display:flex;flex-wrap:wrap;gap:10px;align-items:center}
.badge{display:inline-block;padding:2px 10px;border-radius:999px;font-size:.8rem;color:#fff;font-weight:600}
.facts{display:grid;grid-template-columns:repeat(auto-fit,minmax(210px,1fr));gap:6px 18px;margin:6px 0 10px}
.facts span,.facts small{display:block;color:var(--muted);font-size:.78rem}
.chips{display:flex;flex-wrap:wrap;gap:6px;margin:0 0 12px}
.chip{border:1px solid #d2d8e0;border-radius:6px;padding:2px 8px;font-size:.82rem;white-space:nowrap}
.dot{display:inline-block;width:.6em;height:.6em;border-radius:50%;margin-right:5px}
table{width:100%;border-collapse:collapse}
th,td{padding:7px 8px;border-bottom:1px solid #e5e9ef;text-align:left;vertical-align:top}
th{font-size:.78rem;color:var(--muted);font-weight:600}
th.win{text-align:center;border-bottom:2px solid #cfd6df;color:var(--ink)}
details{margin-top:6px;font-size:.85rem} summary{cursor:pointer}
.summary{font-size:1rem;font-weight:600;margin-top:6px}
td small,.why{display:block;color:var(--muted);font-size:.78rem}
.pct{font-weight:700;font-variant-numeric:tabular-nums}
.bar{height:6px;background:#e5e9ef;border-radius:3px;margin-top:3px;min-width:70px;overflow:hidden}
.bar i{display:block;height:100%}
.good{color:var(--good)} .warn{color:var(--warn)} .bad{color:var(--bad)} .none{color:var(--none)}
.bg-good{background:var(--good)} .bg-warn{background:var(--warn)} .bg-bad{background:var(--bad)}
.bg-none{background:var(--none)}
footer{max-width:1240px;margin:0 auto;padding:0 12px 24px;color:var(--muted);font-size:.8rem}
@media (max-width:720px){
 thead{display:none}
 table,tbody,tr,td{display:block;width:100%}
 tr{border:1px solid #e5e9ef;border-radius:8px;margin:8px 0;padding:4px 10px}
 td{border:0;padding:4px 0;display:flex;justify-content:space-between;gap:12px;text-align:right}
 td::before{content:attr(data-label);color:var(--muted);font-size:.78rem;text-align:left}
 td.svc{display:block;text-align:left;font-weight:600}
 td.svc::before{content:none}
 .bar{width:90px}
}
"""


def both(key: str, **kw) -> str:
    """'中文 English' heading, the English part lighter."""
    return f"{escape(t(key, 'zh', **kw))} <span class=en>{escape(t(key, 'en', **kw))}</span>"


def label(key: str) -> str:
    return escape(f"{t(key, 'zh')} {t(key, 'en')}")


def level_class(value: float | None) -> str:
    if value is None:
        return "none"
    return "good" if value >= GOOD else "warn" if value >= WARN else "bad"


def percent(value: float | None) -> str:
    """Rounded to 0.1 % (7/9 is 77.8 %), except that a share short of all (or
    above none) never reads as 100.0 % (or 0.0 %)."""
    if value is None:
        return "—"
    shown = round(value * 100, 1)
    if shown >= 100 and value < 1:
        shown = 99.9
    elif shown <= 0 and value > 0:
        shown = 0.1
    return f"{shown:.1f} %"


def duration(seconds: float | None, lang: str = "en") -> str:
    if seconds is None:
        return "—"
    s = int(max(seconds, 0))

    def u(unit: str, n: int) -> str:
        return t(f"central.report.unit.{unit}", lang, n=n)
    if s < 120:
        return u("s", s)
    if s < 7200:
        return u("min", s // 60)
    if s < 172800:
        return f"{u('h', s // 3600)} {u('min', s % 3600 // 60)}"
    return f"{u('d', s // 86400)} {u('h', s % 86400 // 3600)}"


def local_time(stamp: str | None) -> str:
    if not stamp:
        return "—"
    try:
        return dt.datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M:%S")
    except ValueError:
        return escape(stamp)


def _availability_cell(value: float | None, label_text: str) -> str:
    cls = level_class(value)
    width = 0 if value is None else max(0.0, min(value, 1.0)) * 100
    return (f"<td data-label='{label_text}'><div><span class='pct {cls}'>{percent(value)}</span>"
            f"<div class=bar><i class=bg-{cls} style='width:{width:.1f}%'></i></div></div></td>")


def _rating(ev: dict) -> str:
    if not ev.get("count"):
        return "<span class=none>—</span>"
    kw = {"count": ev["count"], "satisfied": percent(ev["satisfied"])}
    return (f"<b class=pct>{ev['average']:.2f}</b><small>{escape(t('central.report.ratings', 'zh', **kw))}</small>"
            f"<small>{escape(t('central.report.ratings', 'en', **kw))}</small>")


def _terminal(term: dict, windows: list[str]) -> str:
    state = term["state"]
    out = [f"<section><h2>{escape(term['terminal_id'])} <span class='badge bg-{STATE_CLASS[state]}'>"
           f"{label(f'central.report.state.{state}')}</span></h2><div class=facts>"]
    ago = ""
    if term["last_heartbeat_age_s"] is not None:
        age = term["last_heartbeat_age_s"]
        ago = (f"<small>{escape(t('central.report.ago', 'zh', duration=duration(age, 'zh')))} · "
               f"{escape(t('central.report.ago', 'en', duration=duration(age)))}</small>")
    outbox = term.get("outbox") or {}
    counts = {"pending": outbox.get("pending", "—"), "dead": outbox.get("dead", "—")}
    facts = [
        ("central.report.last_heartbeat", f"{local_time(term['last_heartbeat_at'])}{ago}"),
        ("central.report.first_heartbeat", local_time(term.get("first_heartbeat_at"))),
        ("central.report.version", escape(str(term.get("software_version") or "—"))),
        ("central.report.outbox", "—" if not outbox else
         f"{escape(t('central.report.outbox_value', 'zh', **counts))}"
         f"<small>{escape(t('central.report.outbox_value', 'en', **counts))}</small>"),
        ("central.report.coverage", " · ".join(
            f"{escape(t(f'central.report.window.{w}', 'en'))} "
            f"<b class={level_class(term['windows'][w]['reporting'])}>{percent(term['windows'][w]['reporting'])}</b>"
            for w in windows)),
    ]
    out += [f"<div><span>{label(key)}</span>{value}</div>" for key, value in facts]
    out.append("</div>")
    if state == "never":
        out.append(f"<p class=bad>{escape(t('central.report.never_hint', 'zh'))}<br>"
                   f"{escape(t('central.report.never_hint', 'en'))}</p>")
    if term["devices"]:
        out.append(f"<div class=chips title='{label('central.report.devices')}'>")
        for name, st in term["devices"].items():
            state_name = str(st.get("device", "?"))
            cls = "none" if term["stale"] else DEVICE_CLASS.get(state_name, "bad")
            detail = st.get("detail") if isinstance(st.get("detail"), dict) else {}
            extra = f" ({', '.join(f'{k} {v}' for k, v in list(detail.items())[:3])})" \
                if state_name != "online" and detail else ""
            out.append(f"<span class=chip><i class='dot bg-{cls}'></i>"
                       f"{escape(name)}: {escape(state_name + extra)}</span>")
        out.append("</div>")
    figures = ("central.report.availability", "central.report.sessions", "central.report.rating")
    head = [label("central.report.service"), label("central.report.now")]
    for w in windows:
        head += [f"{label(k)} · {label(f'central.report.window.{w}')}" for k in figures]
    out.append(f"<table><thead><tr><th rowspan=2>{head[0]}</th><th rowspan=2>{head[1]}</th>"
               + "".join(f"<th colspan=3 class=win>{label(f'central.report.window.{w}')}</th>" for w in windows)
               + "</tr><tr>" + "".join(f"<th>{label(k)}</th>" for _ in windows for k in figures)
               + "</tr></thead><tbody>")
    for svc in term["services"].values():
        now = svc["now"]
        why = "".join(f"<span class=why>{escape(str(r)[:160])}</span>" for r in svc["reasons"][:2])
        cells = [f"<td class=svc>{escape(svc['title']['zh'])}<small>{escape(svc['title']['en'])}</small></td>",
                 f"<td data-label='{head[1]}'><div><b class={NOW_CLASS[now]}>"
                 f"{label(f'central.report.now_state.{now}')}</b>{why}</div></td>"]
        for i, w in enumerate(windows):
            fig = svc["windows"][w]
            cells.append(_availability_cell(fig["availability"], head[2 + 3 * i]))
            cells.append(f"<td data-label='{head[3 + 3 * i]}'>{fig['sessions']}</td>")
            cells.append(f"<td data-label='{head[4 + 3 * i]}'><div>{_rating(fig['evaluations'])}</div></td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table></section>")
    return "".join(out)


def render(report: dict, refresh_s: int = 60) -> str:
    """The HTML page for a ``read_report`` result."""
    windows = list(report["windows"])
    stale = f"{duration(report['stale_after_s'], 'zh')} / {duration(report['stale_after_s'])}"
    states = [term["state"] for term in report["terminals"]]
    counts = {"total": len(states), **{k: states.count(k) for k in ("reporting", "stale", "never")}}
    tz = dt.datetime.now().astimezone().strftime("%z")
    parts = [
        "<!doctype html><html lang=zh-CN><head><meta charset=utf-8>",
        "<meta name=viewport content='width=device-width, initial-scale=1'>",
        f"<meta http-equiv=refresh content='{int(refresh_s)}'>",
        f"<title>{escape(t('central.report.title', 'zh'))} / {escape(t('central.report.title', 'en'))}</title>",
        f"<style>{CSS}</style></head><body><header><h1>{both('central.report.title')}</h1>",
        f"<p>{label('central.report.generated')}: {local_time(report['generated_at'])} (UTC{tz[:3]}:{tz[3:]})"
        f" · {label('central.report.stale_after')}: {stale}</p>",
        f"<p class=summary>{escape(t('central.report.summary', 'zh', **counts))}<br>"
        f"<span class=en>{escape(t('central.report.summary', 'en', **counts))}</span></p>",
        f"<details><summary>{label('central.report.how_title')}</summary>",
        f"<p>{escape(t('central.report.how', 'zh'))}</p><p>{escape(t('central.report.how', 'en'))}</p></details>",
        "</header><main>",
    ]
    if not report["terminals"]:
        parts.append(f"<section>{both('central.report.no_terminals')}</section>")
    parts += [_terminal(term, windows) for term in report["terminals"]]
    legend = {"good": percent(GOOD), "warn": percent(WARN)}
    parts.append(f"</main><footer>{escape(t('central.report.legend', 'zh', **legend))}<br>"
                 f"{escape(t('central.report.legend', 'en', **legend))}</footer></body></html>")
    return "".join(parts)
