"""Voice guidance: espeak-ng command line, non-blocking, newest wins."""

import array
import threading

from ui.voice import Voice, espeak_command


def test_command_uses_language_volume_and_slower_elderly_speed():
    cmd = espeak_command("请将身份证放在感应区", "zh", 0.5, elderly=True)
    assert cmd[:3] == ["espeak-ng", "-v", "cmn"]
    assert cmd[cmd.index("-a") + 1] == "100"
    assert int(cmd[cmd.index("-s") + 1]) < int(espeak_command("x", "zh", 0.5)[4 + 2])
    assert cmd[-1] == "请将身份证放在感应区" and cmd[-2] == "--"
    assert espeak_command("Hello", "en", 1.0)[2] == "en-gb"


class SlowProcess:
    """Speech that never ends by itself: only terminate() (or the test's backstop) ends it."""

    def __init__(self):
        self.done = threading.Event()
        self.terminated = False

    def poll(self):
        return 0 if self.done.is_set() else None

    def terminate(self):
        self.terminated = True
        self.done.set()

    def wait(self, timeout=None):
        self.done.wait(timeout)

    def kill(self):
        self.done.set()


def test_say_returns_at_once_and_newer_text_interrupts_older():
    procs = []
    spawned = threading.Condition()

    def runner(cmd):
        with spawned:
            procs.append((cmd[-1], SlowProcess()))
            spawned.notify_all()
        return procs[-1][1]

    voice = Voice(enabled=True, volume=0.8, runner=runner)
    # say() must not wait for speech: the first utterance is still being spoken
    # (it never ends by itself) when say() has returned and the process exists
    voice.say("第一句", "zh")
    with spawned:
        assert spawned.wait_for(lambda: procs, timeout=30)
    assert procs[0][0] == "第一句" and not procs[0][1].done.is_set()
    voice.say("第二句", "zh")
    with spawned:
        assert spawned.wait_for(lambda: any(t == "第二句" for t, _ in procs), timeout=30)
    assert procs[-1][0] == "第二句" and not procs[-1][1].done.is_set()
    assert all(p.terminated for t, p in procs if t == "第一句")
    voice.close()
    assert procs[-1][1].terminated  # closing stops the speech in progress


def test_volume_zero_or_disabled_is_silent():
    spoken = []
    voice = Voice(enabled=True, volume=0.0, runner=lambda cmd: spoken.append(cmd))
    voice.say("x")
    off = Voice(enabled=False, runner=lambda cmd: spoken.append(cmd))
    off.say("y")
    # nothing was queued, so no speaking thread was ever started
    assert voice._thread is None and off._thread is None and spoken == []


def test_fixed_texts_play_the_voice_pack_and_dynamic_texts_are_synthesised(tmp_path):
    import array
    import wave

    from ui.voice import VoicePack

    (tmp_path / "zh").mkdir()
    recording = tmp_path / "zh" / "flows.take_paper.title.wav"
    with wave.open(str(recording), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
        w.writeframes(array.array("h", [3000, -3000] * 800).tobytes())
    voice = Voice(enabled=True, volume=0.5, runner=lambda cmd: None, pack=VoicePack(tmp_path))
    voice.elderly = True
    parts = [("flows.take_paper.title", "请取走您的材料"),          # fixed text: the recording
             ("flows.queue.counters", "1-3号窗口"),                 # values filled in: synthesised
             ("flows.take_paper.prompt", "别忘了取回身份证和卡片")]  # no recording: synthesised
    cmds = voice.commands(parts, "zh")
    assert cmds[0][0].endswith("play") and str(recording) in cmds[0] and "0.50" in cmds[0]
    assert "tempo" in cmds[0]                                       # slower in elderly mode
    assert cmds[1][0].endswith("espeak-ng") and cmds[1][-1] == "1-3号窗口"
    assert cmds[2][-1] == "别忘了取回身份证和卡片" and cmds[2][cmds[2].index("-s") + 1] == "125"
    assert VoicePack(tmp_path).keys("zh") == {"flows.take_paper.title"}
    assert VoicePack(tmp_path).find("../etc", "zh") is None


def test_step_speech_reads_the_engine_state_keys():
    from flows.engine import END, Field, Flow, Session, Step
    from ui.voice import step_speech

    steps = {"plate": Step("plate", view="form", title="flows.traffic.plate_title", prompt="flows.traffic.plate_prompt",
                           fields=[Field("plate", kind="plate")], next=END)}
    session = Session(Flow("toy", "convenience", "flows.svc.traffic_violations.title", steps, "plate"), None).start()
    said = step_speech(session.state(), "zh")
    assert [k for k, _ in said] == ["flows.traffic.plate_title", "flows.traffic.plate_prompt", "ui.voice.then_next"]
    assert said[0][1] == "请输入车牌号"
    assert [t for _, t in step_speech(session.state(), "en")][0] == "Enter the plate number"
    session.dispatch({"type": "submit"})    # empty: the field's error is spoken too
    assert any(k and k.startswith("flows.") and "plate" not in k for k, _ in step_speech(session.state(), "zh"))
    session.close()


def test_the_shipped_pack_speaks_every_fixed_key_in_both_languages(tmp_path):
    """The generated pack (deploy/voice/build_pack.py) has an audible
    recording of the current text of the flows' fixed spoken keys, zh and en.
    Texts changed or keys added since the last build are synthesised until
    the pack is rebuilt (services land with their strings, the pack after):
    a few may lag, most may not."""
    import shutil
    import subprocess
    import wave

    from kiosk.core import i18n
    from ui.voice import SHIPPED_PACK, VoicePack, pack_keys

    pack = VoicePack(SHIPPED_PACK)
    keys = pack_keys()
    assert len(keys) > 200 and "ui.voice.then_next" in keys and "flows.take_paper.title" in keys
    for lang in ("zh", "en"):
        found = {k: pack.find(k, lang, i18n.t(k, lang)) for k in keys}
        missing = sorted(k for k, path in found.items() if path is None)
        assert len(missing) <= len(keys) // 5, f"{lang}: rebuild the voice pack, no recording of {missing[:10]}"
        for key in ("ui.voice.then_next", "ui.voice.choose"):
            assert found[key] is not None, f"{lang}: {key}"
        if not shutil.which("sox"):
            continue
        for key in keys[:: max(1, len(keys) // 25)] + ["ui.voice.then_next"]:   # a spread of the pack
            if found[key] is None:
                continue
            wav = tmp_path / f"{lang}-{key}.wav"
            subprocess.run(["sox", str(found[key]), str(wav)], check=True, timeout=60)
            with wave.open(str(wav)) as w:
                samples = array.array("h", w.readframes(w.getnframes()))
                seconds = w.getnframes() / w.getframerate()
            rms = (sum(x * x for x in samples) / max(1, len(samples))) ** 0.5
            assert rms > 300 and 0.3 < seconds < 30, f"{lang} {key}: {rms:.0f} rms over {seconds:.1f} s"
    # a recording of another text is not played for the current one
    assert pack.find("ui.voice.then_next", "zh", "别的话") is None
