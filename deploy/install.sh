#!/bin/sh
# Unattended, idempotent install of the kiosk on Debian (run as root).
#
#   deploy/install.sh [--profile hall|bank] [--root DIR] [--no-apt] [--no-venv]
#                     [--no-systemctl] [--dry-run] [--rollback]
#                     [--technician-pin-file FILE] [--ca DIR]
#                     [--idcard SPEC] [--ticket-printer SPEC] [--camera SPEC]
#                     [--scanner SPEC]
#
# --ca DIR: the deployment CA (ca.pem + ca.key) that issues this terminal's
# document-signing and TLS client certificates; without it one is created once
# in /etc/kiosk/deployment-ca (move its key offline afterwards).
# SPEC binds a kiosk device name to this terminal's device: port:<usb port
# path> or serial:<serial number> (default: the one such device plugged in,
# else the earlier binding; see deploy/udev/bind-devices.sh).
# --root DIR installs into a throwaway root (tests, image builds): no apt, no
# user creation, no systemctl; files and permissions are laid out as on a
# terminal. --dry-run prints what would be done and changes nothing.
# Releases live in /opt/kiosk/releases/<version>; /opt/kiosk/current points at
# the active one, so an upgrade is a new release + symlink switch and a
# rollback (--rollback) switches back to the previous release.
# No technician PIN ships: the first install takes one from
# --technician-pin-file (6-12 digits) or generates one and prints it once.
set -eu

src=$(cd "$(dirname "$0")/.." && pwd)
profile=hall
root=""
do_apt=1
do_venv=1
do_systemctl=1
dry=0
rollback=0
pin_file=""
bind_idcard=""
bind_printer=""
bind_camera=""
bind_scanner=""
ca_dir=""

while [ $# -gt 0 ]; do
    case "$1" in
        --profile) profile=$2; shift 2 ;;
        --root) root=$(mkdir -p "$2" && cd "$2" && pwd); do_apt=0; do_systemctl=0; shift 2 ;;
        --no-apt) do_apt=0; shift ;;
        --no-venv) do_venv=0; shift ;;
        --no-systemctl) do_systemctl=0; shift ;;
        --dry-run) dry=1; shift ;;
        --rollback) rollback=1; shift ;;
        --technician-pin-file) pin_file=$2; shift 2 ;;
        --idcard) bind_idcard=$2; shift 2 ;;
        --ticket-printer) bind_printer=$2; shift 2 ;;
        --camera) bind_camera=$2; shift 2 ;;
        --scanner) bind_scanner=$2; shift 2 ;;
        --ca) ca_dir=$2; shift 2 ;;
        -h|--help) sed -n '2,/^set -eu/{/^#/p}' "$0"; exit 0 ;;
        *) echo "install.sh: unknown option $1" >&2; exit 2 ;;
    esac
done

[ -f "$src/deploy/profiles/$profile.toml" ] || { echo "install.sh: no profile '$profile' (deploy/profiles/)" >&2; exit 2; }
if [ -z "$root" ] && [ "$(id -u)" != 0 ]; then
    echo "install.sh: run as root (or use --root DIR for a throwaway root)" >&2; exit 2
fi

version=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$src/kiosk/core/__init__.py")
opt="$root/opt/kiosk"
etc="$root/etc/kiosk"
var="$root/var/lib/kiosk"
log="$root/var/log/kiosk"
release="$opt/releases/$version"
owner="kiosk:kiosk"
[ -n "$root" ] && owner=""   # no kiosk user inside a throwaway root

run() {
    if [ "$dry" = 1 ]; then echo "+ $*"; else "$@"; fi
}

# install a file only when its content changed (keeps mtimes stable: idempotent)
put() { # put MODE SRC DEST
    if [ -f "$3" ] && cmp -s "$2" "$3"; then
        [ "$dry" = 1 ] || chmod "$1" "$3"
        return 0
    fi
    run install -D -m "$1" "$2" "$3"
    changed=1
}

dir() { # dir MODE PATH
    run mkdir -p "$2"
    run chmod "$1" "$2"
    [ -n "$owner" ] && run chown "$owner" "$2"
    return 0
}

if [ "$rollback" = 1 ]; then
    current=$(basename "$(readlink "$opt/current" 2>/dev/null || echo none)")
    previous=$(ls -1 "$opt/releases" 2>/dev/null | grep -vx "$current" | sort -V | tail -n 1)
    [ -n "$previous" ] || { echo "install.sh: no previous release to roll back to" >&2; exit 1; }
    # Store migrations are one-way: an older release refuses a store with a
    # newer schema. Refuse here, before switching, rather than at the kiosk.
    py="$opt/releases/$previous/bin/python"
    if [ -x "$py" ] && [ -f "$var/cases.db" ]; then
        reads=$("$py" -c 'from offline_cache.migrations import LATEST; print(LATEST)' 2>/dev/null || echo "")
        has=$("$py" -c 'import sqlite3, sys; print(sqlite3.connect(sys.argv[1]).execute("PRAGMA user_version").fetchone()[0])' "$var/cases.db" 2>/dev/null || echo "")
        if [ -n "$reads" ] && [ -n "$has" ] && [ "$has" -gt "$reads" ]; then
            echo "install.sh: cannot roll back to $previous: the case store has schema $has, that release reads up to $reads" >&2
            exit 1
        fi
    fi
    run ln -sfn "releases/$previous" "$opt/current"
    [ "$do_systemctl" = 1 ] && run systemctl restart kiosk-app.service kiosk-sync.service
    echo "rolled back to $(basename "$previous")"
    exit 0
fi

changed=0

# 1. Debian packages (the project's list plus the session compositor and time sync)
if [ "$do_apt" = 1 ]; then
    run sh "$src/deploy/ensure-apt.sh"
    tmp=$(mktemp); printf 'cage\nchrony\nlogrotate\n' > "$tmp"
    run sh "$src/deploy/ensure-apt.sh" "$tmp"; rm -f "$tmp"
fi

# 2. System user: no login, only the device groups it needs
if [ -z "$root" ] && ! id kiosk >/dev/null 2>&1; then
    run useradd --system --home-dir /var/lib/kiosk --shell /usr/sbin/nologin --user-group kiosk
fi
if [ -z "$root" ]; then
    for g in dialout video lp input render audio; do
        getent group "$g" >/dev/null && run usermod -a -G "$g" kiosk
    done
fi

# 3. Release: a virtualenv per version, then switch the current symlink
dir 0755 "$opt/releases"
if [ "$do_venv" = 1 ] && [ ! -x "$release/bin/kiosk" ]; then
    run python3 -m venv "$release"
    run "$release/bin/pip" install -q "$src[face,smartcard,ui,central]"
    # plain "dlib" would compile from source; dlib-bin came with the face extra
    run "$release/bin/pip" install -q --no-deps "face_recognition>=1.3"
elif [ "$do_venv" = 0 ]; then
    dir 0755 "$release/bin"
fi
# relative link: valid inside an image root too; untouched when already right
[ "$(readlink "$opt/current" 2>/dev/null)" = "releases/$version" ] || run ln -sfn "releases/$version" "$opt/current"

# 4. Configuration: the profile is copied once; a site's edits are never overwritten
dir 0750 "$etc"
if [ ! -f "$etc/kiosk.toml" ]; then
    run install -m 0640 "$src/deploy/profiles/$profile.toml" "$etc/kiosk.toml"
    if [ "$dry" = 0 ]; then
        # a top-level key must come before the first table: prepend it
        { echo "# Added by install.sh: an installed terminal runs in production mode (docs/security.md)."
          echo 'mode = "production"'; echo; cat "$etc/kiosk.toml"; } > "$etc/kiosk.toml.new"
        chmod 0640 "$etc/kiosk.toml.new"; mv "$etc/kiosk.toml.new" "$etc/kiosk.toml"
        {
            echo
            echo "# Added by install.sh: data under /var/lib/kiosk, sync in its own service."
            echo "[data]"
            echo 'dir = "/var/lib/kiosk"'
            echo "[sync]"
            echo "in_app = false"
        } >> "$etc/kiosk.toml"
    fi
    [ -z "$root" ] && run chown root:kiosk "$etc/kiosk.toml" "$etc"
fi
put 0644 "$src/deploy/profiles/hall.toml" "$etc/profiles/hall.toml"
put 0644 "$src/deploy/profiles/bank.toml" "$etc/profiles/bank.toml"

# 5. Data (cases, keys) and logs, owned by the kiosk user
dir 0750 "$var"
dir 0700 "$var/keys"
dir 0750 "$log"

# 5b. Technician PIN: set once, never shipped; a generated one is shown only now
if [ ! -s "$var/technician/pin_hash" ] && [ "$dry" = 0 ]; then
    if [ -n "$pin_file" ]; then
        pin=$(head -n 1 "$pin_file" | tr -d ' \r\n')
        shown=0
    else
        pin=$(python3 -c 'import secrets; print(f"{secrets.randbelow(10 ** 8):08d}")')
        shown=1
    fi
    case "$pin" in
        ''|*[!0-9]*) echo "install.sh: the technician PIN must be 6-12 digits" >&2; exit 2 ;;
    esac
    if [ ${#pin} -lt 6 ] || [ ${#pin} -gt 12 ]; then
        echo "install.sh: the technician PIN must be 6-12 digits" >&2; exit 2
    fi
    dir 0700 "$var/technician"
    printf '%s' "$pin" | python3 "$src/deploy/pin_hash.py" > "$var/technician/pin_hash.new"
    chmod 0600 "$var/technician/pin_hash.new"
    [ -n "$owner" ] && chown "$owner" "$var/technician/pin_hash.new"
    mv "$var/technician/pin_hash.new" "$var/technician/pin_hash"
    if [ "$shown" = 1 ]; then
        echo "technician PIN: $pin  (shown once; change it with: kiosk technician set-pin)"
    fi
    pin=""
fi

# 5c. Document signing: the deployment CA (--ca DIR with ca.pem + ca.key, or created
#     once in /etc/kiosk/deployment-ca) issues this terminal's signing certificate
#     (/var/lib/kiosk/signing, key 0600, apart from the store's keys) and its TLS
#     client certificate (/var/lib/kiosk/tls, subject CN = the terminal id).
dir 0700 "$var/signing"
if [ "$dry" = 0 ] && [ ! -s "$var/signing/signing.key" ]; then
    py=${KIOSK_PYTHON:-$release/bin/python}
    [ -x "$py" ] || py=python3
    ca_dir=${ca_dir:-$etc/deployment-ca}
    [ -f "$ca_dir/ca.key" ] && new_ca=0 || new_ca=1
    if ! KIOSK_CONFIG="$etc/kiosk.toml" KIOSK_DATA_DIR="$var" PYTHONPATH="$src${PYTHONPATH:+:$PYTHONPATH}" \
            "$py" -m kiosk.cli certificate provision --ca-dir "$ca_dir" --tls-dir "$var/tls"; then
        echo "install.sh: the signing certificate could not be issued" >&2; exit 1
    fi
    [ -n "$owner" ] && chown -R "$owner" "$var/signing" "$var/tls"
    if [ "$new_ca" = 1 ]; then
        echo "new deployment CA in $ca_dir: keep ca.key offline and pass --ca DIR when installing the other terminals"
    fi
fi

# 6. udev names (/dev/kiosk-idcard, /dev/kiosk-ticket-printer, /dev/kiosk-camera, kiosk-scanner),
#    bound to this terminal's devices by port path or serial number
rules=$(mktemp)
set -- --sysfs "$root/sys"
[ "$dry" = 1 ] || set -- "$@" --state "$etc/device-bindings"
[ -z "$bind_idcard" ] || set -- "$@" --idcard "$bind_idcard"
[ -z "$bind_printer" ] || set -- "$@" --ticket-printer "$bind_printer"
[ -z "$bind_camera" ] || set -- "$@" --camera "$bind_camera"
[ -z "$bind_scanner" ] || set -- "$@" --scanner "$bind_scanner"
sh "$src/deploy/udev/bind-devices.sh" "$@" > "$rules" || { rc=$?; rm -f "$rules"; exit "$rc"; }
put 0644 "$rules" "$root/etc/udev/rules.d/60-kiosk.rules"
rm -f "$rules"

# 7. A keyboard plugged into the terminal reaches nothing but the kiosk: no
#    magic SysRq, no Ctrl+Alt+Del reboot, no spare consoles, power keys ignored
put 0644 "$src/deploy/lockdown/60-kiosk-sysrq.conf" "$root/etc/sysctl.d/60-kiosk-sysrq.conf"
put 0644 "$src/deploy/lockdown/logind-kiosk.conf" "$root/etc/systemd/logind.conf.d/60-kiosk.conf"
put 0644 "$src/deploy/lockdown/system-kiosk.conf" "$root/etc/systemd/system.conf.d/60-kiosk.conf"
[ "$(readlink "$root/etc/systemd/system/ctrl-alt-del.target" 2>/dev/null)" = /dev/null ] || {
    run mkdir -p "$root/etc/systemd/system"
    run ln -sfn /dev/null "$root/etc/systemd/system/ctrl-alt-del.target"
    changed=1
}

# 8. systemd units and log rotation
for unit in kiosk-app.service kiosk-sync.service kiosk-health.service kiosk-health.timer; do
    put 0644 "$src/deploy/systemd/$unit" "$root/etc/systemd/system/$unit"
done
put 0644 "$src/deploy/logrotate/kiosk" "$root/etc/logrotate.d/kiosk"

if [ "$do_systemctl" = 1 ]; then
    if [ "$changed" = 1 ]; then
        run udevadm control --reload-rules || true
        run udevadm trigger --subsystem-match=tty --subsystem-match=video4linux --subsystem-match=usbmisc --subsystem-match=usb || true
        run sysctl -q -p "$root/etc/sysctl.d/60-kiosk-sysrq.conf" || true
        run systemctl daemon-reload
    fi
    run systemctl enable kiosk-app.service kiosk-sync.service kiosk-health.timer
    run systemctl set-default graphical.target
fi

echo "kiosk $version installed (profile $profile)${root:+ into $root}"
