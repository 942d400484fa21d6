"""One-time codes reach the SMS gateway, or the resident is told it did not work."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from kiosk.core.config import ConfigError, load_config
from kiosk.core.i18n import text
from kiosk.sms import SmsError, SmsGateway


class Gateway:
    """A loopback SMS gateway that records what it is given and answers ``status``."""

    def __init__(self):
        self.received: list[tuple[dict, str | None]] = []
        self.status = 200
        self.delay_s = 0.0
        gw = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                gw.received.append((body, self.headers.get("Authorization")))
                threading.Event().wait(gw.delay_s)
                self.send_response(gw.status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/sms"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def gateway():
    gw = Gateway()
    yield gw
    gw.close()


def code_message(code="482913"):
    return text("flows.sms.message", code=code)


def test_code_is_posted_to_the_gateway_and_not_kept(gateway, caplog):
    sms = SmsGateway(gateway.url, token="s3cret", terminal_id="T-0007")
    with caplog.at_level("INFO"):
        assert sms.send("ph_x1", code_message(), masked="138****5678") is True
    body, auth = gateway.received[0]
    # the handle and the masked number only: the gateway resolves the number on record with central
    assert body["handle"] == "ph_x1" and body["phone_masked"] == "138****5678" and body["terminal"] == "T-0007"
    assert "phone" not in body
    assert "482913" in body["text"] and "482913" in body["text_en"]
    assert auth == "Bearer s3cret"
    assert sms.last_code() is None  # a real gateway: nothing kept on the terminal
    assert "482913" not in caplog.text and "ph_x1" not in caplog.text


def test_gateway_refusal_and_silence_are_one_clear_line(gateway):
    gateway.status = 503
    with pytest.raises(SmsError, match="refused the message: HTTP 503"):
        SmsGateway(gateway.url).send("13812345678", code_message())
    gateway.status, gateway.delay_s = 200, 2.5
    with pytest.raises(SmsError, match="did not answer within 1 s"):
        SmsGateway(gateway.url, timeout_s=1).send("13812345678", code_message())


def test_unreachable_gateway(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(SmsError, match="unreachable"):
        SmsGateway(f"http://127.0.0.1:{port}/sms", timeout_s=1).send("13812345678", code_message())


def test_memory_mode_keeps_the_code_for_the_demo():
    sms = SmsGateway()
    sms.send("13812345678", code_message("000123"))
    assert sms.last_code() == "000123" == sms.last_code("13812345678")
    sms.send("13900001111", code_message("000456"))  # the previous resident's number is not kept
    assert sms.last_code("13812345678") is None and sms.last_code() == "000456"
    sms.clear()
    assert sms.last_code() is None


def test_config_names_a_bad_gateway_url(tmp_path):
    f = tmp_path / "site.toml"
    f.write_text('[sms]\nurl = "smtp://x"\n', "utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(f, env={})
    assert err.value.key == "sms.url"
    f.write_text('[sms]\nurl = "https://sms.example.gov.cn/send"\ntoken = "t"\n', "utf-8")
    assert SmsGateway.from_config(load_config(f, env={})).url == "https://sms.example.gov.cn/send"
