# Quick start:  make run   (install everything, start the kiosk with simulated
#                           devices and the embedded sandbox central platform)
#               make test  (install everything, run the test suite)
PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: run test install demo bench soak screenshots audit clean

run: install
	$(BIN)/kiosk run

test: install
	$(BIN)/python -m pytest -q -p no:cacheprovider

demo: install
	$(BIN)/kiosk demo --out out/demo

screenshots: install
	KIOSK_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest -q -p no:cacheprovider tests/ui

# The screen audit's full matrix: every step of every shipped script at four
# sizes, zh/en, standard/elderly; prints a summary, PNGs in out/audit (make test
# runs a reduced matrix).
audit: install
	QT_QPA_PLATFORM=offscreen QT_QUICK_BACKEND=software $(BIN)/python -m ui.audit_matrix --full --shots out/audit

bench: install
	for b in benchmarks/*.py; do $(BIN)/python $$b || exit 1; done

install: $(STAMP)

$(STAMP): setup.cfg pyproject.toml deploy/apt-packages.txt
	sh deploy/ensure-apt.sh
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip wheel 'setuptools>=61,<81'
	$(BIN)/python -m pip install -q -e '.[all]'
	# face_recognition declares plain "dlib" (a 9-minute source build); the
	# face extra already brought dlib-bin, so install it without dependencies.
	$(BIN)/python -m pip install -q --no-deps 'face_recognition>=1.3'
	touch $(STAMP)

clean:
	rm -rf $(VENV) out build *.egg-info

# Endurance: SESSIONS sessions of every service with injected faults through one
# core, then the same through the touch screen's view-model (figures in README).
SESSIONS ?= 1000
soak: install
	$(BIN)/python benchmarks/soak.py --sessions $(SESSIONS)
	QT_QPA_PLATFORM=offscreen $(BIN)/python benchmarks/soak.py --ui --sessions $(SESSIONS)
