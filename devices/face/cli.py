"""``kiosk face ...``: check the verification and liveness on image and video files."""

from __future__ import annotations

import statistics

import click

from kiosk.cli import emit, fail


def _config_value(ctx: click.Context, given, key: str):
    if given is not None:
        return given
    obj = ctx.find_root().obj
    config = getattr(obj, "config", None)
    if config is None:
        from kiosk.config import load_config

        config = load_config()
    return config.get(key)


@click.group("face")
def face() -> None:
    """Face verification checks (images stay in memory; nothing is stored)."""


@face.command("verify")
@click.argument("id_image", type=click.Path(dir_okay=False))
@click.argument("live_image", type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--repeat", default=1, show_default=True, type=click.IntRange(1, 1000),
              help="Run the decision N times; decision_ms is the median.")
@click.option("--threshold", type=click.FloatRange(0.05, 0.95), default=None,
              help="Distance threshold (default: face.threshold from the config).")
@click.option("--engine", type=click.Choice(["numpy", "dlib"]), default=None,
              help="Encoder engine (default: face.engine from the config).")
@click.pass_context
def verify_command(ctx: click.Context, id_image: str, live_image: str, as_json: bool, repeat: int,
                   threshold: float | None, engine: str | None) -> None:
    """Compare the face on ID_IMAGE (e.g. the card photo) with LIVE_IMAGE.

    decision_ms is the time from the decoded live image to the decision, with
    the ID encoding done beforehand (as the kiosk does when the card is read).
    """
    from . import quality as q
    from .verifier import FaceError, FaceVerifier, load_image

    with FaceVerifier(threshold=float(_config_value(ctx, threshold, "face.threshold")),
                      engine=str(_config_value(ctx, engine, "face.engine"))) as verifier:
        try:
            live = load_image(live_image)
            id_face = verifier.encode_id_photo(id_image)
        except FaceError as exc:
            fail(str(exc))
        try:
            runs = [verifier.verify(id_face, live) for _ in range(repeat)]
        finally:
            id_face.wipe()
        active = verifier.active_engine
    decision = runs[-1]
    timings = dict(decision.timings_ms)
    timings["decision_ms"] = statistics.median(d.timings_ms["decision_ms"] for d in runs)
    out = decision.as_dict()
    out["timings_ms"] = {k: round(v, 2) for k, v in timings.items()}
    out["runs"] = repeat
    out["engine"] = active
    if not decision.decided:
        if as_json:
            emit(out, True)
        from kiosk.i18n import t

        if decision.quality[0] == q.NO_FACE:
            fail(f"no face found in {live_image}")
        if decision.quality[0] == q.SEVERAL_FACES:
            fail(f"several faces in {live_image}: only one person may be in view")
        reasons = "; ".join(t(k, "en").rstrip(".") for k in decision.quality)
        fail(f"face in {live_image} not usable for a decision: {reasons}")
    human = "\n".join([
        f"match: {'yes' if decision.match else 'no'}",
        f"distance: {decision.distance:.4f}",
        f"threshold: {decision.threshold}",
        "quality: ok",
        "timings_ms: " + ", ".join(f"{k}={v:.1f}" for k, v in out["timings_ms"].items()),
        f"engine: {active}",
    ])
    emit(out, as_json, human)


@face.command("liveness")
@click.argument("video", type=click.Path(dir_okay=False))
@click.option("--mode", type=click.Choice(["blink", "turn"]), default="blink", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def liveness_command(video: str, mode: str, as_json: bool) -> None:
    """Run the liveness challenge over every frame of VIDEO (its own frame rate sets the clock)."""
    import os

    import cv2

    from kiosk.i18n import t

    from .liveness import LivenessChecker

    if not os.path.isfile(video):
        fail(f"cannot read video: {video} (no such file)")
    cap = cv2.VideoCapture(video)
    fps = cap.get(cv2.CAP_PROP_FPS) if cap.isOpened() else 0.0
    fps = fps if 1 <= fps <= 240 else 25.0
    checker = LivenessChecker(mode, seconds=None)
    index = 0
    try:
        while cap.isOpened():
            ok, frame = cap.read()
            if not ok:
                break
            checker.feed(frame, ts=index / fps)
            index += 1
            if checker.done:
                break
    finally:
        cap.release()
    if index == 0:
        fail(f"cannot read video: {video} (no frames)")
    live, reason = checker.result()
    out = {"live": live, "reason": reason, "message": {"zh": t(reason, "zh"), "en": t(reason, "en")},
           "mode": mode, **checker.stats()}
    emit(out, as_json, f"live: {'yes' if live else 'no'}\nreason: {reason} - {t(reason, 'en')}\n"
                       f"frames: {checker.frames} (face in {checker.with_face})")
