#!/bin/bash
# First-boot set-up for a LightsailSite instance, run once as root by cloud-init.
#
# Written for the default WordPress blueprint (Bitnami on Debian) and safe on the other
# blueprints the construct offers (Debian/Ubuntu via apt, Amazon Linux 2023 via dnf).
# Idempotent: every step writes a whole file or installs a package, so a second run (or a run
# by hand after an image change) leaves the same state.
set -euo pipefail

# Tests run the script against a scratch directory with stub commands; on an instance it is /.
ROOT="${FIRST_BOOT_ROOT:-}"

log() { printf 'first_boot: %s\n' "$*"; }

# Security updates install themselves every day; a small server has nobody watching it.
enable_security_updates() {
    if command -v apt-get >/dev/null 2>&1; then
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -q
        apt-get install -y -q unattended-upgrades
        mkdir -p "${ROOT}/etc/apt/apt.conf.d"
        cat >"${ROOT}/etc/apt/apt.conf.d/20auto-upgrades" <<'CONF'
APT::Periodic::Update-Package-Lists "1";
APT::Periodic::Unattended-Upgrade "1";
APT::Periodic::AutocleanInterval "7";
CONF
        systemctl enable --now unattended-upgrades.service
        log "unattended-upgrades enabled"
    elif command -v dnf >/dev/null 2>&1; then
        dnf install -y -q dnf-automatic
        # Only security updates, applied without asking.
        sed -i -e 's/^upgrade_type *=.*/upgrade_type = security/' \
            -e 's/^apply_updates *=.*/apply_updates = yes/' "${ROOT}/etc/dnf/automatic.conf"
        systemctl enable --now dnf-automatic.timer
        log "dnf-automatic enabled"
    else
        log "no apt-get or dnf: automatic updates not configured"
    fi
}

# Key-only SSH without root login. Lightsail already ships key-only images; this keeps it so
# if a later package update or a hand edit of sshd_config turns passwords back on.
harden_ssh() {
    local dropin_dir="${ROOT}/etc/ssh/sshd_config.d"
    if ! grep -Eq '^Include /etc/ssh/sshd_config\.d/\*\.conf' "${ROOT}/etc/ssh/sshd_config"; then
        log "sshd_config does not include ${dropin_dir}: SSH hardening skipped"
        return 0
    fi
    # Drop-ins are read in lexical order and the first value wins: sort before cloud-init's.
    mkdir -p "${dropin_dir}"
    cat >"${dropin_dir}/01-lightsail-site.conf" <<'CONF'
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
X11Forwarding no
MaxAuthTries 3
CONF
    chmod 0644 "${dropin_dir}/01-lightsail-site.conf"
    sshd -t
    systemctl reload ssh.service 2>/dev/null || systemctl reload sshd.service
    log "sshd hardened"
}

# SSH first: it needs no network, so a package mirror that is down at first boot cannot leave
# the instance without it.
harden_ssh
enable_security_updates
log "done"
