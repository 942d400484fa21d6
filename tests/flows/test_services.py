"""Every seed service end to end: the shipped resident scripts through the real
engine, real drivers on the simulators and the embedded sandbox platform."""

from __future__ import annotations

import array
import json
import re
import shutil
import subprocess
import wave
from pathlib import Path

from flows.runner import load_script, shipped_script

RESIDENT_ID = "110101198503120316"   # 欧阳明 on the simulated card
RESIDENT_NAME = "欧阳明"


def cases_of(app, service):
    return [c for c in app.store.list_cases(limit=1000) if c["service"] == service]


def pdf_text(path: str) -> str:
    return subprocess.run(["pdftotext", "-layout", path, "-"], capture_output=True, text=True, timeout=30).stdout


def run_shipped(runner, service):
    report = runner.run(load_script(shipped_script(service)))
    assert report.ok, report.error
    assert report.outcome == "completed"
    check_spoken(runner.spoken, tmp=Path(runner.out))
    return report


def loudness(path: Path) -> float:
    with wave.open(str(path)) as w:
        samples = array.array("h", w.readframes(w.getnframes()))
    return (sum(x * x for x in samples) / max(1, len(samples))) ** 0.5


def check_spoken(spoken, tmp: Path) -> None:
    """Every screen of the run was spoken in Chinese: its title and
    instruction and what to do next, each part audible, whether it plays a
    recording of the shipped voice pack or is synthesised."""
    from ui.voice import SHIPPED_PACK, Voice

    assert len(spoken) >= 2, spoken
    voice = Voice(enabled=True, volume=0.8, runner=lambda cmd: None, pack=SHIPPED_PACK)
    recorded = 0
    for i, (step, parts) in enumerate(spoken):
        said = " ".join(t for _, t in parts)
        assert said.strip() and "{" not in said, (step, parts)
        assert not re.search(r"[A-Za-z]{3,}", said), (step, said)   # no English on a Chinese session
        for j, cmd in enumerate(voice.commands(parts, "zh")):
            wav = tmp / f"voice-{i}-{j}.wav"
            if cmd[0].endswith("play"):
                recorded += 1
                subprocess.run(["sox", *cmd[2:5], str(wav)], check=True, timeout=60)   # -v volume file
            elif shutil.which("espeak-ng"):
                subprocess.run(cmd[:-2] + ["-w", str(wav), "--", cmd[-1]], check=True, timeout=60)
            else:
                continue
            assert loudness(wav) > 100, f"{step}: the spoken guidance is silent"
    assert recorded > 0 or not shutil.which("sox"), "no fixed text came from the voice pack"
    keys = [k for _, parts in spoken for k, _ in parts]
    assert any(k and k.startswith("ui.voice.") for k in keys) or any(
        "点击" in t for _, parts in spoken for _, t in parts), spoken


def assert_wiped(runner):
    s = runner.session
    st = s.state()
    assert s.ended and st["view"] == "start" and st["step"] is None
    assert s.data == {} and st["fields"] == [] and st["result"] is None
    journal = "\n".join(s.journal.lines())
    assert RESIDENT_ID not in journal and RESIDENT_NAME not in journal
    assert RESIDENT_ID not in json.dumps(s.summary, ensure_ascii=False)


def test_proof_of_no_property(runner, kiosk_app):
    before = len(cases_of(kiosk_app, "no_property_proof"))
    report = run_shipped(runner, "no_property_proof")
    assert_wiped(runner)
    steps = [t["step"] for t in report.steps]
    assert steps[:3] == ["card", "consent", "face"] and "print_proof" in steps
    assert steps[-2:] == ["evaluation", "thanks"]
    pdfs = [a for a in report.artifacts if a.endswith(".pdf")]
    pngs = [a for a in report.artifacts if a.endswith(".png")]
    assert len(pdfs) == 1 and len(pngs) == 1
    text = pdf_text(pdfs[0])
    assert "无房证明" in text and "未查询到" in text and "1****************6" in text
    assert " 00:00" not in text   # 查询时间 is when the registry was asked, not midnight
    receipt = kiosk_app.devices.simulators["ticket_printer"].page_texts()[-1]
    assert "已出具证明" in receipt and "申请人" in receipt   # in words, not the raw "issued"
    from printers.documents import Trust, verify_pdf

    assert verify_pdf(Path(pdfs[0]).read_bytes(), Trust([kiosk_app.signer.ca_cert])).ok
    case = cases_of(kiosk_app, "no_property_proof")
    assert len(case) == before + 1
    case = case[0]
    assert case["ref"] == report.case_ref
    assert case["applicant"]["id_number"] == "1****************6"
    assert case["extra"]["verified_by"] == "face"
    assert case["evaluation"]["level"] == 5
    issued = kiosk_app.audit.records(kind="certificate_issued")[-1]["fields"]  # serial and hash only
    assert issued["document"] == "no_property" and issued["serial"] in text.replace(" ", "")
    assert set(issued) == {"document", "serial", "sha256"}
    assert case["document_hash"]
    assert report.budget_ms == 1500
    # the receipt's and the certificate's QR codes open central's verify page (demo: central itself)
    import requests

    kiosk_app.sync.sync_once()
    receipt = requests.get(kiosk_app.verify_url(case["ref"]), timeout=10)
    assert receipt.status_code == 200 and receipt.json()["status"] == "recorded"
    from printers.documents.verify import issued_fields

    serial = issued_fields(Path(pdfs[0]).read_bytes())["serial"]
    proof = requests.get(kiosk_app.verify_url(serial), timeout=10).json()
    assert proof["status"] == "valid" and proof["certificate"]["serial"] == serial and RESIDENT_NAME not in str(proof)


def test_social_security_proof_with_the_social_security_card(runner, kiosk_app):
    report = run_shipped(runner, "social_security_proof")
    assert_wiped(runner)
    pdfs = [a for a in report.artifacts if a.endswith(".pdf")]
    assert len(pdfs) == 1 and "社会保险" in pdf_text(pdfs[0])
    case = cases_of(kiosk_app, "social_security_proof")[0]
    assert case["extra"]["card"] == "social_security" and case["result"]["months"] == 12


def test_provident_fund_withdrawal(runner, kiosk_app):
    withdrawals = kiosk_app.central.stats()["withdrawals"]
    run_shipped(runner, "provident_fund_withdrawal")
    assert kiosk_app.central.stats()["withdrawals"] == withdrawals + 1   # the withdrawal itself was made
    assert_wiped(runner)
    case = cases_of(kiosk_app, "provident_fund_withdrawal")[0]
    assert case["result"] == {"status": "accepted", "amount_cents": 150000, "purpose": "rent"}
    assert case["extra"]["bank_card"].endswith(case["extra"]["bank_card"][-4:]) and "*" in case["extra"]["bank_card"]
    assert case["evaluation"]["level"] == 2 and case["evaluation"]["reasons"] == ["slow"]
    receipt = kiosk_app.devices.simulators["ticket_printer"].page_texts()[-1]
    assert case["ref"] in receipt
    # in words: what was asked for, where it goes and when it arrives
    assert "已受理" in receipt and "accepted" not in receipt.split("Accepted")[0]
    assert "¥1500.00" in receipt and "预计到账日期" in receipt and "到账银行卡" in receipt


def test_queue_ticket(runner, kiosk_app):
    report = run_shipped(runner, "queue_ticket")
    assert_wiped(runner)
    number = report.result["ticket"]
    assert number.startswith("D") and not report.result["offline"]
    page = kiosk_app.devices.simulators["ticket_printer"].page_texts()[-1]
    assert number in page and "办理窗口" in page
    case = cases_of(kiosk_app, "queue_ticket")[0]
    assert case["result"]["ticket"] == number and case["evaluation"] is None  # the resident skipped the rating


def test_traffic_violations_paid_by_qr(runner, kiosk_app):
    run_shipped(runner, "traffic_violations")
    assert_wiped(runner)
    case = cases_of(kiosk_app, "traffic_violations")[0]
    assert case["result"]["status"] == "paid" and case["result"]["plate"].startswith("苏")
    assert case["result"]["amount_cents"] > 0 and len(case["result"]["violations"]) >= 1
    paid = kiosk_app.backend("payment_status", payment_id=case["result"]["payment_id"])
    assert paid["status"] == "paid"


def test_restricted_area_pass(runner, kiosk_app):
    run_shipped(runner, "restricted_area_pass")
    assert_wiped(runner)
    case = cases_of(kiosk_app, "restricted_area_pass")[0]
    assert case["result"]["plate"] == "苏AD12345" and case["result"]["area"] == "old_town"


def test_family_agency_is_recorded_as_done_by_the_agent(runner, kiosk_app):
    report = run_shipped(runner, "family_agency")
    assert_wiped(runner)
    steps = [t["step"] for t in report.steps]
    # the chained service skips its own card step: the principal's card was read by the agency flow
    assert "agent_face" in steps and "principal_card" in steps and "months" in steps
    assert steps.count("card") == 0
    case = cases_of(kiosk_app, "social_security_proof")[0]
    assert case["applicant"]["name"] == "李**"
    assert case["agent"]["name"] == "欧**"
    assert case["extra"]["on_behalf"]["relationship"] == "child"
    assert case["extra"]["verified_by"] == "face"


def test_standalone_evaluation_rates_an_earlier_case_once(runner, kiosk_app):
    run_shipped(runner, "queue_ticket")
    unrated = next(c for c in kiosk_app.store.list_cases(limit=50) if not c["evaluation"])
    run_shipped(runner, "evaluation")
    rated = kiosk_app.store.get_case(unrated["case_id"])
    assert rated["evaluation"]["level"] == 1 and set(rated["evaluation"]["reasons"]) == {"unclear", "other"}
    # a second rating of the same case is refused on screen
    s = kiosk_app.new_session("evaluation", start=True)
    s.dispatch({"type": "input", "field": "case_ref", "value": unrated["ref"]})
    s.dispatch({"type": "submit"})
    assert s.state()["errors"]["case_ref"]["key"] == "flows.evaluation.already_rated"
    s.close()


def test_catalog_state_lists_every_service_with_availability(kiosk_app):
    state = kiosk_app.catalog_state()
    ids = [s["id"] for s in state]
    assert ids[:7] == ["no_property_proof", "social_security_proof", "provident_fund_withdrawal", "queue_ticket",
                       "traffic_violations", "restricted_area_pass", "family_agency"]
    assert {s["category"] for s in state} == {"approval", "convenience", "public", "theme"}
    assert all(s["available"] for s in state), [(s["id"], s["reasons"]) for s in state if not s["available"]]
    assert all(s["title"]["zh"] and s["title"]["en"] for s in state)
