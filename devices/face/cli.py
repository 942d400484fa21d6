"""``kiosk face ...``: check the verification and liveness on image and video files."""

from __future__ import annotations

import statistics

import click

from kiosk.core.clikit import emit, fail


def _config(ctx: click.Context):
    config = getattr(ctx.find_root().obj, "config", None)
    if config is None:
        from kiosk.core.config import load_config

        config = load_config()
    return config


def _config_value(ctx: click.Context, given, key: str):
    return given if given is not None else _config(ctx).get(key)


@click.group("face")
def face() -> None:
    """Face verification checks (images stay in memory; nothing is stored)."""


@face.command("verify")
@click.argument("id_image", type=click.Path(dir_okay=False))
@click.argument("live_images", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--repeat", default=1, show_default=True, type=click.IntRange(1, 1000),
              help="Decide N times once warm; warm decision_ms is the median.")
@click.option("--accept-below", type=click.FloatRange(0.05, 0.95), default=None,
              help="Accept a fused distance below this (default: face.accept_below).")
@click.option("--reject-above", type=click.FloatRange(0.05, 0.95), default=None,
              help="Reject a fused distance above this (default: face.reject_above).")
@click.option("--engine", type=click.Choice(["numpy", "dlib"]), default=None,
              help="Encoder engine (default: face.engine from the config).")
@click.pass_context
def verify_command(ctx: click.Context, id_image: str, live_images: tuple[str, ...], as_json: bool, repeat: int,
                   accept_below: float | None, reject_above: float | None, engine: str | None) -> None:
    """Compare the face on ID_IMAGE (e.g. the card photo) with one or more LIVE_IMAGES.

    Several live images are fused as the kiosk fuses camera frames (median
    distance of the best ones). Timings: "cold" is what the first decision
    costs in a fresh process (loading the models and checking the numpy
    encoder against dlib, then deciding); "warm" is a decision once loaded,
    with the ID encoding done beforehand, as the kiosk does when the card is read.
    Encoding runs in this process; the kiosk runs it in a child process so
    its screen stays responsive.
    """
    import time

    from .rule import Rule
    from .verifier import FaceError, FaceVerifier, load_image

    base = Rule.from_config(_config(ctx))
    accept = base.accept_below if accept_below is None else accept_below
    reject = max(accept, base.reject_above if reject_above is None else reject_above)
    try:
        rule = Rule(accept, reject, base.min_frames, base.max_frames, base.fuse_best)
    except ValueError as exc:
        fail(str(exc), code=2)
    started = time.perf_counter()
    # Inline: a one-shot command has no camera or screen to keep responsive,
    # so the encoder child (and its overload fallback) would only add noise.
    with FaceVerifier(rule, engine=str(_config_value(ctx, engine, "face.engine")), encoder="inline") as verifier:
        try:
            lives = [load_image(p) for p in live_images]
            verifier.warm_up(full=False)
            load_ms = (time.perf_counter() - started) * 1000
            id_face = verifier.encode_id_photo(id_image)
        except FaceError as exc:
            fail(str(exc))
        try:
            first = [verifier.verify(id_face, live) for live in lives]
            warm = [verifier.verify(id_face, lives[0]).timings_ms["decision_ms"] for _ in range(repeat)]
        finally:
            id_face.wipe()
        active = verifier.active_engine
    _report(first, live_images, rule, load_ms, id_face.timings_ms["total_ms"], warm, active, as_json)


def _report(first, names, rule, load_ms: float, id_ms: float, warm: list[float], engine: str, as_json: bool) -> None:
    from kiosk.core.i18n import t

    from . import quality as q
    from .rule import ACCEPT

    frames = [{"image": name, **d.as_dict()} for name, d in zip(names, first)]
    compared = [d for d in first if d.compared]
    cold = {"load_ms": round(load_ms, 1), "id_encode_ms": round(id_ms, 1),
            "first_decision_ms": round(first[0].timings_ms["decision_ms"], 1),
            "total_ms": round(load_ms + first[0].timings_ms["decision_ms"], 1)}
    out = {"match": False, "verdict": None, "distance": None, "accept_below": rule.accept_below,
           "reject_above": rule.reject_above, "quality": list(first[0].quality), "frames": frames,
           "cold_ms": cold, "warm_ms": {"decision_ms": round(statistics.median(warm), 2), "runs": len(warm)},
           "engine": engine}
    if compared:
        fused = rule.fuse([(d.score or 0.0, d.distance) for d in compared])
        out.update(match=rule.classify(fused) == ACCEPT, verdict=rule.classify(fused), distance=round(fused, 4),
                   fused_from=min(len(compared), rule.fuse_best), quality=[])
    elif as_json:
        emit(out, True)
    if not compared:
        d, name = first[0], names[0]
        if d.quality[0] == q.NO_FACE:
            fail(f"no face found in {name}")
        if d.quality[0] == q.SEVERAL_FACES:
            fail(f"several faces in {name}: only one person may be in view")
        reasons = "; ".join(t(k, "en").rstrip(".") for k in d.quality)
        fail(f"face in {name} not usable for a decision: {reasons}")
    lines = []
    for f in frames:
        what = f"{f['distance']:.4f} {f['verdict']}" if f["distance"] is not None else \
            "not used: " + "; ".join(t(k, "en").rstrip(".") for k in f["quality"])
        lines.append(f"  {f['image']}: {what}")
    verdict = {"accept": "yes", "reject": "no"}.get(out["verdict"], "no (uncertain: the kiosk would take more frames)")
    human = "\n".join([
        f"match: {verdict}",
        f"distance: {out['distance']:.4f}"
        + (f" (median of the best {out['fused_from']} frames)" if len(compared) > 1 else ""),
        f"rule: accept below {rule.accept_below}, reject above {rule.reject_above}",
        "frames:", *lines,
        f"cold: load {cold['load_ms']:.0f} ms + first decision {cold['first_decision_ms']:.1f} ms"
        f" (ID photo encoding {cold['id_encode_ms']:.0f} ms, done when the card is read)",
        f"warm: decision {out['warm_ms']['decision_ms']:.1f} ms (median of {len(warm)})",
        f"engine: {engine}",
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

    from kiosk.core.i18n import t

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
